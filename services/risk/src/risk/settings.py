"""Risk's settings: which instruments it guards, their grid, and its timers (env prefix `RISK_`).

Limits are not settings: they live in the KV `config` bucket (see `risk.limits`). The symbols to
guard are `RISK_SYMBOLS=BTCUSDT,ETHUSDT`; their tick and lot sizes come from the definitions
md_gateway stores in the KV `instruments` bucket (read from the venue), waited for at start for up
to `instrument_wait_s`. `RISK_INSTRUMENTS='{"BTCUSDT": {"tick_size": "0.10", "lot_size":
"0.001"}}'` overrides a symbol's grid explicitly (tests, or a venue without a gateway).
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from mm_proto import subjects
from mm_runtime.instruments import GridSettings
from mm_runtime.settings import ServiceSettings, SymbolList


class RiskSettings(ServiceSettings):
    """Settings of the risk service."""

    model_config = SettingsConfigDict(env_prefix="RISK_")

    venue: str = "bybit"
    category: str = "linear"
    symbols: SymbolList = Field(default_factory=list)
    instruments: dict[str, GridSettings] = Field(default_factory=dict)
    instrument_wait_s: float = Field(default=30.0, gt=0, le=600)
    executor_service: str = "executor"
    # Risk's heartbeat is the executor's watchdog input: frequent and cheap (a core publish), so
    # the executor can pull orders within a second of the bus or risk going silent.
    heartbeat_interval_s: float = Field(default=0.2, gt=0, le=60)
    evaluate_interval_s: float = Field(default=0.1, gt=0, le=10)
    # While halted, the cancel-all targets are repeated (and the halt re-stored) this often.
    halt_repeat_s: float = Field(default=1.0, gt=0, le=60)
    # How often the EXEC consumer's pending count is asked of the server (a JetStream request).
    exec_lag_interval_s: float = Field(default=1.0, gt=0, le=60)
    durable_name: str = Field(default="risk", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    exec_ack_wait_s: float = Field(default=5.0, gt=0, le=300)
    # The portfolio snapshot (KV `risk`/portfolio) is stored at most this often; EXEC facts are
    # acked once a stored snapshot covers them, so it must stay well under exec_ack_wait_s.
    snapshot_interval_s: float = Field(default=1.0, gt=0, le=60)
    event_repeat_s: float = Field(default=1.0, ge=0, le=60)
    # Handle only the newest of the book tops and intents waiting per symbol while risk is busy
    # (`mm_runtime.conflation`). Off: measured no CPU or latency gain at the load on a
    # shared 2-core machine (docs/benchmarks.md); there for a stack that falls behind.
    conflate_backlog: bool = False

    @model_validator(mode="after")
    def _snapshot_before_redelivery(self) -> RiskSettings:
        if self.snapshot_interval_s * 2 > self.exec_ack_wait_s:
            raise ValueError(
                "snapshot_interval_s must be at most half of exec_ack_wait_s (facts are acked "
                f"when a snapshot is stored), was {self.snapshot_interval_s} against "
                f"{self.exec_ack_wait_s}"
            )
        return self

    @model_validator(mode="after")
    def _tokens_are_valid(self) -> RiskSettings:
        if not self.all_symbols:
            raise ValueError("symbols (or instruments) must name at least one symbol, was empty")
        for name in (self.venue, self.category, self.executor_service, *self.all_symbols):
            subjects.token(name)
        return self

    @property
    def all_symbols(self) -> list[str]:
        """The listed symbols, then those only given an explicit grid, without repeats."""
        return list(dict.fromkeys([*self.symbols, *self.instruments]))

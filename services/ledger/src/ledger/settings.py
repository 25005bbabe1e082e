"""The ledger's settings (env prefix `LEDGER_`): which symbols it books and its timers.

`LEDGER_SYMBOLS=BTCUSDT,ETHUSDT`; their grids come from the definitions md_gateway stores in the
KV `instruments` bucket, waited for at start up to `instrument_wait_s`. Snapshots go out every
`snapshot_interval_s` (a minute; tests shorten it); EXEC messages are acked only once the snapshot
that includes them is stored, so `exec_ack_wait_s` must be well above the interval. Inputs wait
`reorder_hold_ms` of venue time (`ledger.merge`) so that a replay applies them in the same order.
With `weekly_dir` each completed week's rollup is written there (`ledger.weekly_file`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from ledger.core import DEFAULT_HORIZONS_S
from mm_proto import subjects
from mm_runtime.settings import ServiceSettings, SymbolList


class LedgerSettings(ServiceSettings):
    """Settings of the ledger service."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_")

    venue: str = "bybit"
    category: str = "linear"
    symbols: SymbolList = Field(default_factory=list)
    instrument_wait_s: float = Field(default=30.0, gt=0, le=600)
    snapshot_interval_s: float = Field(default=60.0, ge=0.2, le=3600)
    markout_horizons_s: tuple[float, ...] = Field(default=DEFAULT_HORIZONS_S, min_length=1)
    durable_name: str = Field(default="ledger", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    exec_ack_wait_s: float = Field(default=300.0, gt=0, le=3600)
    # Inputs are applied in venue time once the symbol's newest mark is this far past them.
    reorder_hold_ms: float = Field(default=2000.0, ge=0, le=60_000)
    restore_scan_limit: int = Field(default=10_000, ge=1)
    # Where each completed week's rollup is written (`ledger.weekly_file`); None: not written.
    weekly_dir: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LedgerSettings:
        if not self.symbols:
            raise ValueError("symbols must name at least one symbol, was empty")
        for name in (self.venue, self.category, *self.symbols):
            subjects.token(name)
        if self.exec_ack_wait_s < 3 * self.snapshot_interval_s:
            raise ValueError(
                f"exec_ack_wait_s must be at least 3 x snapshot_interval_s "
                f"({3 * self.snapshot_interval_s}), was {self.exec_ack_wait_s}: EXEC messages "
                "stay unacked until the snapshot that includes them is stored"
            )
        if any(h <= 0 or h > 3600 for h in self.markout_horizons_s):
            raise ValueError(
                f"markout_horizons_s must be in (0, 3600] seconds, was {self.markout_horizons_s}"
            )
        return self

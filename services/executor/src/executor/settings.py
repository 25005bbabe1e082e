"""ExecutorSettings: the venue connection, the symbols this instance is the single writer for, and
the safety timers (target watchdog, DCP window, shutdown)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from mm_proto import subjects
from mm_runtime.settings import LeaseSettings, Section, ServiceSettings, SymbolList

MIN_RECONCILIATION_INTERVAL_S = 10.0


class VenueSettings(Section):
    """Where the venue is and the account's keys (give them as `*_FILE` paths)."""

    rest_url: str = "http://127.0.0.1:8099"
    ws_url: str = "ws://127.0.0.1:8099"  # mm_bybit appends the private and trade paths
    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")
    category: str = Field(default="linear", pattern="^(linear|spot)$")
    recv_window_ms: int = Field(default=5000, gt=0, le=60_000)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=5.0, gt=0)
    use_trade_websocket: bool = True  # REST is the fallback while the socket is down
    use_batches: bool = True
    allow_size_increase: bool = True  # Bybit linear amends qty upward; 110022 where not
    dcp_window_s: int = Field(default=10, ge=0, le=300)  # 0: do not arm disconnect-cancel-all
    ws_ping_interval_s: float = Field(default=20.0, gt=0, le=60)  # Bybit asks for one every 20 s


class ExecutorSettings(ServiceSettings):
    """Everything the executor needs at start; shutdown must fit in 10 s."""

    model_config = SettingsConfigDict(env_prefix="EXECUTOR_")

    venue_name: str = "bybit"
    symbols: SymbolList = Field(min_length=1)
    venue: VenueSettings = VenueSettings()
    order_prefix: str = Field(default="mm", pattern=r"^[A-Za-z0-9_]{1,8}$")
    shutdown_timeout_s: float = Field(default=8.0, gt=0, le=10)
    # How long start waits for md_gateway's instrument definitions (mm_runtime.instruments).
    instrument_wait_s: float = Field(default=30.0, gt=0, le=600)
    cancel_on_shutdown: bool = True
    cancel_foreign_orders: bool = True  # single writer: orders we did not make are cancelled
    # No risk heartbeat (every 0.2 s) or target for this long -> cancel at the venue until risk
    # speaks again. Short, so a frozen or restarting bus pulls orders within a second.
    watchdog_timeout_s: float = Field(default=0.6, gt=0, le=300)
    heartbeat_interval_s: float = Field(default=1.0, gt=0, le=60)
    # How often tick-to-order summaries are stored for `mm gate` (`latency_window`).
    gate_facts_interval_s: float = Field(default=60.0, ge=1, le=3600)
    # Each symbol's orders checked against the venue this often, its outcome stored for `mm gate`
    # (`periodic_reconciliation`); 0 turns it off (then only a (re)subscription reconciles).
    reconciliation_interval_s: float = Field(default=300.0, ge=0, le=86_400)
    unconfirmed_query_after_s: float = Field(default=3.0, gt=0, le=60)
    max_send_attempts: int = Field(default=3, ge=1, le=10)
    retry_delay_s: float = Field(default=0.2, ge=0, le=10)
    # Lease mode: replicas share `symbols`, one writer per symbol by lease (executor/shards.py).
    lease: LeaseSettings = LeaseSettings()

    @field_validator("venue_name")
    @classmethod
    def _is_a_token(cls, value: str) -> str:
        return subjects.token(value)

    @field_validator("reconciliation_interval_s")
    @classmethod
    def _off_or_at_least_ten_seconds(cls, value: float) -> float:
        if 0 < value < MIN_RECONCILIATION_INTERVAL_S:
            raise ValueError(
                f"must be 0 (off) or at least {MIN_RECONCILIATION_INTERVAL_S:g} s (each check "
                f"may wait seconds to confirm a difference), was {value:g}"
            )
        return value

    @model_validator(mode="after")
    def _has_credentials(self) -> ExecutorSettings:
        if (
            not self.venue.api_key.get_secret_value()
            or not self.venue.api_secret.get_secret_value()
        ):
            raise ValueError(
                "venue.api_key and venue.api_secret must be set (EXECUTOR_VENUE__API_KEY_FILE and "
                "EXECUTOR_VENUE__API_SECRET_FILE, or the plain names), received an empty one"
            )
        return self

    @model_validator(mode="after")
    def _lease_fits(self) -> ExecutorSettings:
        self.lease.check(self.instance_id)
        return self

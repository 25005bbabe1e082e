"""SimSettings: everything the simulator can be told at start, from `MM_SIM_*` env vars or files."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiKey(BaseModel):
    """One API key pair and the account (UID) it trades for."""

    key: str
    secret: SecretStr
    uid: int = Field(default=1001, gt=0)


class MarketModelConfig(BaseModel):
    """The synthetic market: mid dynamics in ticks per step, displayed depth and trade arrivals."""

    model_config = ConfigDict(allow_inf_nan=False)

    step_interval_ms: int = Field(default=100, gt=0)
    auto_step: bool = True
    volatility_ticks: float = Field(default=1.5, ge=0)
    drift_ticks: float = 0.0
    jump_probability: float = Field(default=0.002, ge=0, le=1)
    jump_ticks: float = Field(default=20.0, ge=0)
    spread_ticks: int = Field(default=1, ge=1)
    levels: int = Field(default=250, ge=1, le=1000)
    level_size_lots: int = Field(default=500, gt=0)
    level_growth: float = Field(default=0.02, ge=0)
    resize_levels_per_step: int = Field(default=3, ge=0)
    informed_trade_probability: float = Field(default=0.1, ge=0, le=1)
    uninformed_trade_probability: float = Field(default=0.3, ge=0, le=1)
    trade_size_lots: int = Field(default=100, gt=0)
    # Informed flow's strength (0: as strong as the uninformed, the model before these fields).
    # Mean lots of an informed trade (0 = `trade_size_lots`): a larger one sweeps levels.
    informed_trade_size_lots: int = Field(default=0, ge=0, le=1_000_000_000)
    # The persistent move after each informed trade, in ticks its way, spread evenly over the
    # next `informed_impact_steps` steps; never reverted (the information is in the price).
    informed_impact_ticks: float = Field(default=0.0, ge=0, le=1_000_000)
    informed_impact_steps: int = Field(default=1, ge=1, le=10_000)


# One clock steps every symbol, so the step interval and auto stepping stay global.
PER_SYMBOL_MARKET_FIELDS = frozenset(MarketModelConfig.model_fields) - {
    "step_interval_ms",
    "auto_step",
}


class InstrumentConfig(BaseModel):
    """One tradable symbol with its filters and the price its market starts at."""

    category: str = Field(default="linear", pattern="^(linear|spot)$")
    symbol: str
    base_coin: str
    quote_coin: str = "USDT"
    tick_size: Decimal = Decimal("0.10")
    qty_step: Decimal = Decimal("0.001")
    min_order_qty: Decimal = Decimal("0.001")
    max_order_qty: Decimal = Decimal("1190")
    min_notional_value: Decimal = Decimal("5")
    start_price: Decimal = Decimal("60000")
    model_lots_per_unit: int = Field(default=1, gt=0)  # market-model sizes are in these units
    # This symbol's own market model: any `MarketModelConfig` field but the clock's
    # (`PER_SYMBOL_MARKET_FIELDS`), over the simulator's `market`; empty: the global model.
    market: dict[str, Any] = Field(default_factory=dict)

    @field_validator("market")
    @classmethod
    def _market_override_is_valid(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - PER_SYMBOL_MARKET_FIELDS)
        if unknown:
            raise ValueError(
                f"market fields {unknown} cannot be set per instrument; "
                f"allowed: {sorted(PER_SYMBOL_MARKET_FIELDS)}"
            )
        checked = MarketModelConfig.model_validate(value)  # each value within the model's bounds
        return checked.model_dump(include=set(value))

    def market_model(self, common: MarketModelConfig) -> MarketModelConfig:
        """The market model this symbol runs: `common` with this instrument's fields over it."""
        return common.model_copy(update=self.market)


class FaultConfig(BaseModel):
    """Faults active from the start; the admin endpoint changes them at run time."""

    rest_delay_ms: int = Field(default=0, ge=0)
    rest_error: str = Field(default="none", pattern="^(none|http_5xx|10016)$")
    rest_error_count: int = Field(default=-1, ge=-1)
    rate_limit_storm: bool = False
    reject_storm: bool = False  # every order create/amend refused with retCode 110007
    paused_topics: list[str] = Field(default_factory=list)
    delta_fault: str = Field(default="none", pattern="^(none|skip|duplicate|reorder)$")
    delta_fault_count: int = Field(default=1, ge=-1)
    private_silence: bool = False


def default_instruments() -> list[InstrumentConfig]:
    return [
        InstrumentConfig(symbol="BTCUSDT", base_coin="BTC"),
        InstrumentConfig(
            symbol="ETHUSDT",
            base_coin="ETH",
            tick_size=Decimal("0.01"),
            qty_step=Decimal("0.01"),
            min_order_qty=Decimal("0.01"),
            max_order_qty=Decimal("8000"),
            start_price=Decimal("3000"),
        ),
        InstrumentConfig(
            category="spot",
            symbol="BTCUSDT",
            base_coin="BTC",
            tick_size=Decimal("0.01"),
            qty_step=Decimal("0.000001"),
            min_order_qty=Decimal("0.000048"),
            max_order_qty=Decimal("71"),
            min_notional_value=Decimal("1"),
            model_lots_per_unit=1000,
        ),
    ]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def default_api_keys() -> list[ApiKey]:
    return [ApiKey(key="sim-key", secret=SecretStr("sim-secret"), uid=1001)]


class SimSettings(BaseSettings):
    """The simulator's configuration; `MM_SIM_API_KEYS_FILE` names a JSON list of key objects."""

    model_config = SettingsConfigDict(env_prefix="MM_SIM_", env_nested_delimiter="__")

    host: str = "127.0.0.1"
    port: int = Field(default=8099, ge=0, le=65535)
    seed: int = 7  # the market model's paths (mid, trades, depth): same seed, same market
    # Order, execution and trade ids and book sequence steps. None (the default) draws them from
    # fresh entropy at every start, so a restarted simulator never repeats an id of an earlier
    # life (consumers de-duplicate on them); set it only to reproduce ids, as tests do.
    id_seed: int | None = None
    api_keys: list[ApiKey] = Field(default_factory=default_api_keys, validate_default=True)
    instruments: list[InstrumentConfig] = Field(default_factory=default_instruments)
    maker_fee_rate: Decimal = Decimal("0.0002")
    taker_fee_rate: Decimal = Decimal("0.00055")
    initial_balances: dict[str, Decimal] = Field(
        default_factory=lambda: {"USDT": Decimal("100000"), "BTC": Decimal("1")}
    )
    leverage: Decimal = Decimal("10")
    # Funding on linear perpetuals: Bybit settles every 8 hours; tests shorten the interval.
    funding_interval_ms: int = Field(default=8 * 3600 * 1000, ge=1000)
    funding_rate: Decimal = Field(
        default=Decimal("0.0001"), ge=Decimal("-0.005"), le=Decimal("0.005")
    )
    order_rate_limit_per_s: int = Field(default=10, gt=0)
    spot_order_rate_limit_per_s: int = Field(default=20, gt=0)
    query_rate_limit_per_s: int = Field(default=50, gt=0)
    max_active_orders_per_symbol: int = Field(default=500, gt=0)
    market: MarketModelConfig = Field(default_factory=MarketModelConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    manual_clock: bool = False
    ws_latency_ms: int = Field(default=0, ge=0, le=10_000)  # one-way delay on every WS message
    # A private/trade connection that sends nothing this long is closed (Bybit: about 10 minutes).
    ws_ping_timeout_s: float = Field(default=600.0, gt=0, le=3600)
    replay_file: str = ""
    replay_category: str = Field(default="linear", pattern="^(linear|spot)$")
    # /sim/admin (faults, steps, trades, executions) is off unless a token protects it
    # (MM_SIM_ADMIN_TOKEN or MM_SIM_ADMIN_TOKEN_FILE; callers send `Authorization: Bearer ...`)
    # or a test opens it explicitly on a loopback host (MM_SIM_ADMIN_OPEN).
    admin_token: SecretStr = SecretStr("")
    admin_open: bool = False

    @field_validator("admin_token", mode="before")
    @classmethod
    def admin_token_from_file(cls, value: Any) -> Any:
        """Read the admin token from MM_SIM_ADMIN_TOKEN_FILE when set."""
        path = os.environ.get("MM_SIM_ADMIN_TOKEN_FILE", "")
        if path:
            return Path(path).read_text(encoding="utf-8").strip()
        return value

    @model_validator(mode="after")
    def _open_admin_only_on_loopback(self) -> SimSettings:
        if self.admin_open and self.host not in LOOPBACK_HOSTS:
            raise ValueError(
                "admin_open serves /sim/admin without a token, so host must be loopback "
                f"{sorted(LOOPBACK_HOSTS)}, was {self.host!r}; set MM_SIM_ADMIN_TOKEN_FILE instead"
            )
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def keys_from_file(cls, value: Any) -> Any:
        """Read keys from MM_SIM_API_KEYS_FILE when set (JSON list of {key, secret, uid})."""
        path = os.environ.get("MM_SIM_API_KEYS_FILE", "")
        if path:
            return json.loads(Path(path).read_text())
        return value

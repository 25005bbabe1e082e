"""Risk limits: the validated model, risk's live-config declaration, and which fields change live.

Configuration arrives as JSON objects in the KV `config` bucket under `risk.<scope>` keys, read
through `mm_runtime.live_config` with the declaration `SPEC`. The `risk.default` object may set
any field of `SymbolLimits` (the default for every symbol), `PortfolioLimits` and
`KillSwitchLimits` (together `RiskConfig`); a `risk.<SYMBOL>` object may set only `SymbolLimits`
fields, each overriding the default for that symbol. `limits_of` turns the values in force into
the `RiskLimits` the engine enforces. Notional amounts are in the quote currency (USDT) as exact
decimals; sizes are integer lots.

A set of limits is refused as a whole, with one reason per broken invariant, when it contradicts
itself: a per-symbol limit above the portfolio limit, or a window that makes another setting
meaningless. Fields in `RESTART_REQUIRED_FIELDS` size the kill switch's and the rate budget's
history, so the live path refuses to change them (keeping the running value); every other field
is live-safe.

Every field has a lower and an upper bound (no infinities or NaN, notionals at most
`MAX_NOTIONAL`, price bands at most 10 %, timeouts in seconds to minutes, not days), applied at
start and live. `MAX_STEP` says how far one live change may loosen a field against the running
limits (`mm_runtime.live_steps`); tightening is never limited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mm_runtime.live_config import ConfigError, ConfigSpec, LayeredModel, Layers, Values
from mm_runtime.live_steps import MaxStep

CONFIG_KEY_PREFIX = "risk."
DEFAULT_SCOPE = "default"
MAX_NOTIONAL = Decimal(1_000_000_000)  # quote currency; far above any book this system runs
MAX_LOTS = 1_000_000_000
_BOUNDED = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
SectionT = TypeVar("SectionT", bound=BaseModel)


class LimitsError(ValueError):
    """A configuration that cannot be applied; `reasons` holds one line per problem."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class SymbolLimits(BaseModel):
    """Limits for one symbol (sizes in lots, notionals in quote currency)."""

    model_config = _BOUNDED

    max_position_lots: int = Field(default=1_000, ge=0, le=MAX_LOTS)
    max_position_notional: Decimal = Field(default=Decimal(20_000), ge=0, le=MAX_NOTIONAL)
    max_order_lots: int = Field(default=100, ge=0, le=MAX_LOTS)
    max_order_notional: Decimal = Field(default=Decimal(5_000), ge=0, le=MAX_NOTIONAL)
    price_band_bps: Decimal = Field(default=Decimal(100), gt=0, le=1_000)
    max_open_orders: int = Field(default=10, ge=0, le=1_000)
    # A book older than this (no top from the gateway) pulls the symbol's orders on risk's clock.
    # The simulator and a busy Bybit book update several times a second; a quiet real book may
    # not, and its operator raises this (see the README).
    stale_after_ms: int = Field(default=500, ge=100, le=60_000)
    # The clock cancels a symbol's orders when its last intent is older than this (a dead quoter,
    # or one raising on every tick). The quoter refreshes a resting intent at least every
    # max_quote_age_s (5 s by default), so the default allows two refreshes.
    intent_stale_after_ms: int = Field(default=10_000, gt=0, le=600_000)
    max_order_actions: int = Field(default=100, ge=0, le=1_000_000)
    order_rate_window_ms: int = Field(default=10_000, gt=0, le=3_600_000)
    min_target_interval_ms: int = Field(default=50, ge=0, le=60_000)


class PortfolioLimits(BaseModel):
    """Limits across every symbol this risk instance manages."""

    model_config = _BOUNDED

    max_gross_notional: Decimal = Field(default=Decimal(50_000), ge=0, le=MAX_NOTIONAL)
    max_net_notional: Decimal = Field(default=Decimal(25_000), ge=0, le=MAX_NOTIONAL)


class KillSwitchLimits(BaseModel):
    """Thresholds of the automatic halt triggers."""

    model_config = _BOUNDED

    max_window_loss: Decimal = Field(default=Decimal(500), gt=0, le=MAX_NOTIONAL)
    pnl_window_s: int = Field(default=300, gt=0, le=86_400)
    max_drawdown: Decimal = Field(default=Decimal(1_000), gt=0, le=MAX_NOTIONAL)
    max_rejects: int = Field(default=20, gt=0, le=100_000)
    reject_window_s: int = Field(default=60, gt=0, le=86_400)
    md_down_after_ms: int = Field(default=10_000, gt=0, le=600_000)
    executor_heartbeat_timeout_ms: int = Field(default=5_000, gt=0, le=600_000)
    position_mismatch_snapshots: int = Field(default=2, ge=1, le=100)
    # Until the executor's first heartbeat, it may stay silent this long from risk's start.
    executor_startup_grace_ms: int = Field(default=15_000, ge=0, le=600_000)
    # Halt when risk's EXEC consumer has been neither caught up nor moving for this long.
    exec_lag_halt_after_ms: int = Field(default=10_000, gt=0, le=600_000)
    # A transient halt lifts itself once its condition has been clear this long.
    halt_heal_after_ms: int = Field(default=5_000, gt=0, le=3_600_000)


class RiskLimits(BaseModel):
    """Everything risk enforces: portfolio, kill switch, and per-symbol limits with a default."""

    model_config = _BOUNDED

    portfolio: PortfolioLimits = PortfolioLimits()
    kill_switch: KillSwitchLimits = KillSwitchLimits()
    default: SymbolLimits = SymbolLimits()
    symbols: dict[str, SymbolLimits] = Field(default_factory=dict)

    def for_symbol(self, symbol: str) -> SymbolLimits:
        """The symbol's own limits, or the default when it has none."""
        return self.symbols.get(symbol, self.default)


# The one place that says which fields the live path may change. Window lengths size the history
# the kill switch and the rate budget keep; changing them under a running window would silently
# reinterpret that history, so they need a restart.
RESTART_REQUIRED_FIELDS: frozenset[str] = frozenset(
    {"pnl_window_s", "reject_window_s", "order_rate_window_ms"}
)
LIVE_SAFE_FIELDS: frozenset[str] = (
    frozenset(
        set(SymbolLimits.model_fields)
        | set(PortfolioLimits.model_fields)
        | set(KillSwitchLimits.model_fields)
    )
    - RESTART_REQUIRED_FIELDS
)


# How far one live change may loosen a limit (by field name, in any section or symbol). A limit of
# zero may be raised by `absolute` at once, or it could never leave zero.
MAX_STEP: dict[str, MaxStep] = {
    "max_position_lots": MaxStep(up=2.0, absolute=10),
    "max_position_notional": MaxStep(up=2.0, absolute=1_000),
    "max_order_lots": MaxStep(up=2.0, absolute=10),
    "max_order_notional": MaxStep(up=2.0, absolute=1_000),
    "price_band_bps": MaxStep(up=2.0),
    "max_open_orders": MaxStep(up=2.0, absolute=10),
    "stale_after_ms": MaxStep(up=2.0),
    "max_order_actions": MaxStep(up=2.0, absolute=100),
    "min_target_interval_ms": MaxStep(down=2.0, absolute=10),
    "max_gross_notional": MaxStep(up=2.0, absolute=1_000),
    "max_net_notional": MaxStep(up=2.0, absolute=1_000),
    "max_window_loss": MaxStep(up=2.0),
    "max_drawdown": MaxStep(up=2.0),
    "max_rejects": MaxStep(up=2.0),
    "md_down_after_ms": MaxStep(up=2.0),
    "executor_heartbeat_timeout_ms": MaxStep(up=2.0),
    "position_mismatch_snapshots": MaxStep(up=2.0, absolute=1),
}


def validate_limits(limits: RiskLimits) -> list[str]:
    """Every invariant `limits` breaks, as one reason each (empty when consistent)."""
    reasons: list[str] = []
    portfolio, kill = limits.portfolio, limits.kill_switch
    if portfolio.max_net_notional > portfolio.max_gross_notional:
        reasons.append(
            f"max_net_notional {portfolio.max_net_notional} must not exceed "
            f"max_gross_notional {portfolio.max_gross_notional}"
        )
    if kill.max_window_loss >= kill.max_drawdown:
        reasons.append(
            f"max_window_loss {kill.max_window_loss} must be below max_drawdown "
            f"{kill.max_drawdown}: a loss over a window is never larger than the drawdown from "
            "peak, so the window trigger could never fire first"
        )
    scopes = {DEFAULT_SCOPE: limits.default, **limits.symbols}
    for scope, symbol_limits in scopes.items():
        reasons.extend(f"{scope}: {reason}" for reason in _symbol_reasons(symbol_limits, limits))
    return reasons


def _symbol_reasons(symbol: SymbolLimits, limits: RiskLimits) -> list[str]:
    reasons: list[str] = []
    gross = limits.portfolio.max_gross_notional
    if symbol.max_position_notional > gross:
        reasons.append(
            f"max_position_notional {symbol.max_position_notional} must not exceed the portfolio "
            f"max_gross_notional {gross}"
        )
    if symbol.max_order_lots > symbol.max_position_lots:
        reasons.append(
            f"max_order_lots {symbol.max_order_lots} must not exceed max_position_lots "
            f"{symbol.max_position_lots}"
        )
    if symbol.max_order_notional > symbol.max_position_notional:
        reasons.append(
            f"max_order_notional {symbol.max_order_notional} must not exceed "
            f"max_position_notional {symbol.max_position_notional}"
        )
    if symbol.max_order_actions < symbol.max_open_orders:
        reasons.append(
            f"max_order_actions {symbol.max_order_actions} must be at least max_open_orders "
            f"{symbol.max_open_orders}, or placing a full ladder could never fit the budget"
        )
    if symbol.min_target_interval_ms >= symbol.order_rate_window_ms:
        reasons.append(
            f"order_rate_window_ms {symbol.order_rate_window_ms} must be longer than "
            f"min_target_interval_ms {symbol.min_target_interval_ms}, or the rate budget is "
            "meaningless"
        )
    if symbol.stale_after_ms >= limits.kill_switch.md_down_after_ms:
        reasons.append(
            f"stale_after_ms {symbol.stale_after_ms} must be below md_down_after_ms "
            f"{limits.kill_switch.md_down_after_ms}, or the halt fires before quotes are pulled"
        )
    return reasons


class RiskConfig(SymbolLimits, PortfolioLimits, KillSwitchLimits):
    """Every field a `risk.default` entry may set; a `risk.<SYMBOL>` entry sets `SymbolLimits`."""

    model_config = _BOUNDED


def limits_of(values: Values[RiskConfig]) -> RiskLimits:
    """The limits risk enforces, from the values its entries give."""
    default = values.default
    return RiskLimits(
        portfolio=_section(PortfolioLimits, default),
        kill_switch=_section(KillSwitchLimits, default),
        default=_section(SymbolLimits, default),
        symbols={symbol: _section(SymbolLimits, v) for symbol, v in values.symbols.items()},
    )


def _section(section: type[SectionT], values: RiskConfig) -> SectionT:
    return section.model_construct(**{name: getattr(values, name) for name in section.model_fields})


def _invariants(default: RiskConfig, symbols: Mapping[str, RiskConfig]) -> list[str]:
    return validate_limits(limits_of(Values(default, symbols)))


SPEC = ConfigSpec(
    prefix=CONFIG_KEY_PREFIX.rstrip("."),
    model=RiskConfig,
    restart_required=RESTART_REQUIRED_FIELDS,
    max_step=MAX_STEP,
    symbol_fields=frozenset(SymbolLimits.model_fields),
    check=_invariants,
)


def build_limits(entries: Mapping[str, Any]) -> RiskLimits:
    """The limits `risk.<scope>` entries build over the defaults (as risk would at start with
    all of them), or raise `LimitsError` naming every bad key, field and broken invariant.

    Each entry is stored bytes, or its text, or its parsed JSON.
    """
    model = LayeredModel(SPEC, RiskConfig())
    layers: Layers = {}
    try:
        for key, value in entries.items():
            if not key.startswith(CONFIG_KEY_PREFIX):
                continue
            scope = model.scope_of(key)
            raw = value if isinstance(value, bytes) else _text(value).encode()
            layers[scope], _ = model.parse(key, scope, raw)
        return limits_of(model.build(layers))
    except ConfigError as error:
        raise LimitsError(error.reasons) from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)

"""Risk limits: the validated model, how KV `config` entries build it, and which fields change live.

Configuration arrives as JSON objects in the KV `config` bucket under `risk.<scope>` keys. The
`risk.default` object may set any field of `SymbolLimits` (the default for every symbol),
`PortfolioLimits` and `KillSwitchLimits`; a `risk.<SYMBOL>` object may set only `SymbolLimits`
fields, each overriding the default for that symbol. Notional amounts are in the quote currency
(USDT) as exact decimals; sizes are integer lots.

A set of limits is refused as a whole, with one reason per broken invariant, when it contradicts
itself: a per-symbol limit above the portfolio limit, or a window that makes another setting
meaningless. Fields in `RESTART_REQUIRED_FIELDS` size the kill switch's and the rate budget's
history, so the live path refuses to change them; every other field is live-safe.

Every field has a lower and an upper bound (no infinities or NaN, notionals at most
`MAX_NOTIONAL`, price bands at most 10 %, timeouts in seconds to minutes, not days), applied at
start and live. `MAX_STEP` says how far one live change may loosen a field against the running
limits (`mm_runtime.live_steps`); tightening is never limited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_runtime.live_steps import MaxStep, step_refusals

CONFIG_KEY_PREFIX = "risk."
DEFAULT_SCOPE = "default"
MAX_NOTIONAL = Decimal(1_000_000_000)  # quote currency; far above any book this system runs
MAX_LOTS = 1_000_000_000
_BOUNDED = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


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


def build_limits(entries: Mapping[str, Any]) -> RiskLimits:
    """Build and validate limits from `risk.<scope>` KV entries (bytes, str or parsed JSON).

    Raises `LimitsError` naming every bad key, field and broken invariant.
    """
    reasons: list[str] = []
    parsed: dict[str, dict[str, Any]] = {}
    for key, value in entries.items():
        if not key.startswith(CONFIG_KEY_PREFIX):
            continue
        scope = key[len(CONFIG_KEY_PREFIX) :]
        try:
            parsed[scope] = _parse_object(value)
        except ValueError as error:
            reasons.append(f"{key}: {error}")
    if reasons:
        raise LimitsError(reasons)
    limits = _assemble(parsed)
    invariant_reasons = validate_limits(limits)
    if invariant_reasons:
        raise LimitsError(invariant_reasons)
    return limits


def _parse_object(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes | str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValueError(f"expected a JSON object, received invalid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, received {type(value).__name__}")
    return value


def _assemble(parsed: dict[str, dict[str, Any]]) -> RiskLimits:
    default_fields = parsed.get(DEFAULT_SCOPE, {})
    sections: dict[str, dict[str, Any]] = {"portfolio": {}, "kill_switch": {}, "default": {}}
    owners = {
        "portfolio": PortfolioLimits.model_fields,
        "kill_switch": KillSwitchLimits.model_fields,
        "default": SymbolLimits.model_fields,
    }
    reasons: list[str] = []
    for name, value in default_fields.items():
        section = next((section for section, fields in owners.items() if name in fields), None)
        if section is None:
            reasons.append(f"{CONFIG_KEY_PREFIX}{DEFAULT_SCOPE}: unknown field {name!r}")
        else:
            sections[section][name] = value
    symbols: dict[str, Any] = {}
    for scope, fields in parsed.items():
        if scope == DEFAULT_SCOPE:
            continue
        symbols[scope] = {**sections["default"], **fields}
    try:
        limits = RiskLimits.model_validate({**sections, "symbols": symbols})
    except ValidationError as error:
        reasons.extend(_describe(error))
    if reasons:
        raise LimitsError(reasons)
    return limits


def _describe(error: ValidationError) -> list[str]:
    reasons = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        reasons.append(f"{location}: {item['msg']} (received {item.get('input')!r})")
    return reasons


def restart_required_changes(running: RiskLimits, candidate: RiskLimits) -> list[str]:
    """Reasons the live path must refuse `candidate`: restart-only fields that differ."""
    reasons = []
    running_flat, candidate_flat = _flatten(running), _flatten(candidate)
    for path in sorted(set(running_flat) | set(candidate_flat)):
        if path.rsplit(".", 1)[-1] not in RESTART_REQUIRED_FIELDS:
            continue
        before = _value_at(running_flat, running, path)
        after = _value_at(candidate_flat, candidate, path)
        if before != after:
            reasons.append(f"{path} changes from {before} to {after}: needs a restart of risk")
    return reasons


def step_changes(running: RiskLimits, candidate: RiskLimits) -> list[str]:
    """Reasons the live path must refuse `candidate`: limits loosened beyond their `MAX_STEP`."""
    running_flat, candidate_flat = _flatten(running), _flatten(candidate)
    reasons = []
    for path in sorted(candidate_flat):
        name = path.rsplit(".", 1)[-1]
        before = _value_at(running_flat, running, path)
        for reason in step_refusals(MAX_STEP, {name: before}, {name: candidate_flat[path]}):
            reasons.append(f"{path.rsplit('.', 1)[0]}: {reason}")
    return reasons


def _flatten(limits: RiskLimits) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section in ("portfolio", "kill_switch", "default"):
        for name, value in getattr(limits, section).model_dump().items():
            flat[f"{section}.{name}"] = value
    for symbol, symbol_limits in limits.symbols.items():
        for name, value in symbol_limits.model_dump().items():
            flat[f"symbols.{symbol}.{name}"] = value
    return flat


def _value_at(flat: dict[str, Any], limits: RiskLimits, path: str) -> Any:
    if path in flat:
        return flat[path]
    # Only symbol paths can be missing: a symbol without its own entry runs with the default's.
    return getattr(limits.default, path.rsplit(".", 1)[-1])

"""Signed REST handlers for position settings and account facts: set-leverage, switch-mode,
closed-pnl and account info, with Bybit's refusals (110043, 110025, 110024, 110028, 110044)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from mm_sim.closed_pnl import closed_pnl_record
from mm_sim.errors import BybitError, parameter_error
from mm_sim.exchange import SymbolState
from mm_sim.paging import page_newest_first, parse_limit, time_window
from mm_sim.venue import Venue
from mm_sim.wallet import available_balance

MAX_LEVERAGE = Decimal(100)
LEVERAGE_STEP = Decimal("0.01")
LEVERAGE_NOT_MODIFIED = 110043
INSUFFICIENT_MARGIN = 110044
MODE_NOT_MODIFIED = 110025
MODE_WITH_POSITION = 110024
MODE_WITH_ORDERS = 110028


def _linear(params: dict[str, Any]) -> str:
    category = params.get("category", "")
    if category != "linear":
        raise parameter_error(f"category must be linear, received {category!r}")
    return "linear"


def _linear_state(venue: Venue, params: dict[str, Any]) -> SymbolState:
    _linear(params)
    symbol = str(params.get("symbol", "") or "")
    state = venue.exchange.symbol("linear", symbol)
    if state is None:
        raise parameter_error(f"symbol invalid {symbol!r}")
    return state


def _leverage(params: dict[str, Any], name: str) -> Decimal:
    text = params.get(name)
    try:
        value = Decimal(str(text)) if isinstance(text, str | int) else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 1 <= value <= MAX_LEVERAGE or value % LEVERAGE_STEP:
        raise parameter_error(
            f"{name} must be a decimal string in [1, {MAX_LEVERAGE}] on step {LEVERAGE_STEP}, "
            f"received {text!r}"
        )
    return value


def set_leverage(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Change a symbol's leverage: order and position margin follow at once."""
    state = _linear_state(venue, params)
    buy, sell = _leverage(params, "buyLeverage"), _leverage(params, "sellLeverage")
    if buy != sell:
        raise parameter_error("buyLeverage must equal sellLeverage in one-way mode")
    exchange = venue.exchange
    account = exchange.accounts[uid]
    instrument = state.instrument
    key = (instrument.category, instrument.symbol)
    before = account.leverage_of(key, venue.settings.leverage)
    if buy == before:
        raise BybitError(LEVERAGE_NOT_MODIFIED, "leverage not modified")
    account.leverage[key] = buy
    coin = instrument.settle_coin
    if available_balance(account, exchange.marks(), venue.settings.leverage, coin) < 0:
        account.leverage[key] = before
        raise BybitError(INSUFFICIENT_MARGIN, "Available margin is insufficient.")
    exchange.emit_position(uid, instrument)
    exchange.emit_wallet(uid)
    exchange.flush()
    return {}


def switch_mode(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """One-way is the only mode here: mode 0 is already set; mode 3 is refused as Bybit would
    with a position or open orders, otherwise as unsupported (10001)."""
    _linear(params)
    symbol = str(params.get("symbol", "") or "")
    coin = str(params.get("coin", "") or "")
    mode = params.get("mode")
    if not symbol and not coin:
        raise parameter_error("symbol or coin is required")
    if symbol and venue.exchange.symbol("linear", symbol) is None:
        raise parameter_error(f"symbol invalid {symbol!r}")
    if mode not in (0, 3, "0", "3"):
        raise parameter_error(f"mode must be 0 or 3, received {mode!r}")
    if str(mode) == "0":
        raise BybitError(MODE_NOT_MODIFIED, "Position mode is not modified")
    account = venue.exchange.accounts[uid]

    def in_scope(category: str, name: str) -> bool:
        state = venue.exchange.symbol(category, name)
        settle = state.instrument.settle_coin if state is not None else ""
        return category == "linear" and (name == symbol if symbol else settle == coin)

    if any(in_scope(*key) and p.size for key, p in account.positions.items()):
        raise BybitError(
            MODE_WITH_POSITION, "You have an existing position, so position mode cannot be switched"
        )
    if any(in_scope(o.instrument.category, o.instrument.symbol) for o in account.open_orders()):
        raise BybitError(MODE_WITH_ORDERS, "Open orders exist, so you cannot change position mode")
    raise parameter_error("hedge mode (mode 3) is not supported by this simulator")


def closed_pnl(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Closed-PnL rows newest first; limit 1-100 (default 50), cursor, 7-day window."""
    _linear(params)
    symbol = str(params.get("symbol", "") or "")
    if symbol and venue.exchange.symbol("linear", symbol) is None:
        raise parameter_error(f"symbol invalid {symbol!r}")
    limit = parse_limit(params, 50, 100)
    start, end = time_window(params, venue.clock.now_ms())

    def keep(row: dict[str, Any]) -> bool:
        return (not symbol or row["symbol"] == symbol) and start <= int(row["updatedTime"]) <= end

    rows = venue.exchange.accounts[uid].closed_pnl
    found, cursor = page_newest_first(rows, keep, params, "pnl", limit)
    ticks = {s.instrument.symbol: s.instrument.tick_size for s in venue.exchange.symbols.values()}
    records = [closed_pnl_record(row, ticks[row["symbol"]]) for row in found]
    return {"category": "linear", "list": records, "nextPageCursor": cursor}


def account_info(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """A UTA 2.0 account in regular (cross) margin; DCP status from the account's window."""
    window = venue.exchange.accounts[uid].dcp_window_s.get("DERIVATIVES", 10)
    armed = bool(venue.exchange.accounts[uid].dcp_window_s)
    return {
        "marginMode": "REGULAR_MARGIN",
        "updatedTime": str(venue.clock.now_ms()),
        "unifiedMarginStatus": 5,
        "dcpStatus": "ON" if armed else "OFF",
        "timeWindow": window,
        "smpGroup": 0,
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
    }

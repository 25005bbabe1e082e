"""Public REST handlers under /v5/market: time, instruments, order book, recent trades, tickers."""

from __future__ import annotations

from typing import Any

from mm_sim.errors import PARAMETER_ERROR, BybitError, parameter_error
from mm_sim.exchange import SymbolState
from mm_sim.market_views import ticker
from mm_sim.venue import Venue

CATEGORIES = ("linear", "spot")
NOT_SUPPORTED_SYMBOLS = "Not supported symbols"  # Bybit's text for an unknown market-data symbol


def _category(params: dict[str, Any]) -> str:
    category = params.get("category", "")
    if category not in CATEGORIES:
        raise parameter_error(f"category must be one of {list(CATEGORIES)}, received {category!r}")
    return str(category)


def _state(venue: Venue, params: dict[str, Any]) -> SymbolState:
    category = _category(params)
    symbol = params.get("symbol", "")
    state = venue.exchange.symbol(category, str(symbol))
    if state is None:
        raise BybitError(PARAMETER_ERROR, NOT_SUPPORTED_SYMBOLS)
    return state


def _limit(params: dict[str, Any], default: int, highest: int) -> int:
    text = params.get("limit", "")
    if text in ("", None):
        return default
    if not str(text).isdigit() or not 1 <= int(text) <= highest:
        raise parameter_error(f"limit must be an integer in [1, {highest}], received {text!r}")
    return int(text)


def server_time(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    now = venue.clock.now_ms()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def instruments_info(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    category = _category(params)
    symbol = params.get("symbol", "")
    # As Bybit: only Trading symbols unless a status (or, as read here, a symbol) is asked for.
    status = params.get("status", "" if symbol else "Trading")
    rows = [
        state.instrument.info_row()
        for (cat, sym), state in venue.exchange.symbols.items()
        if cat == category
        and (not symbol or sym == symbol)
        and (not status or state.instrument.listing.status == status)
    ]
    result: dict[str, Any] = {"category": category, "list": rows}
    if category != "spot":
        result["nextPageCursor"] = ""
    return result


def orderbook(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    state = _state(venue, params)
    default = 1 if state.instrument.category == "spot" else 25
    return venue.feed.rest_book(state, _limit(params, default, 1000))


def recent_trades(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    state = _state(venue, params)
    spot = state.instrument.category == "spot"
    limit = _limit(params, 60 if spot else 500, 60 if spot else 1000)
    rows = [
        {
            "execId": trade["i"],
            "symbol": trade["s"],
            "price": trade["p"],
            "size": trade["v"],
            "side": trade["S"],
            "time": str(trade["T"]),
            "isBlockTrade": False,
            "isRPITrade": False,
            "seq": str(trade["seq"]),
        }
        for trade in list(state.recent_trades)[:limit]
    ]
    return {"category": state.instrument.category, "list": rows}


def tickers(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    category = _category(params)
    symbol = params.get("symbol", "")
    if symbol and venue.exchange.symbol(category, str(symbol)) is None:
        raise BybitError(PARAMETER_ERROR, NOT_SUPPORTED_SYMBOLS)
    rows = [
        ticker(venue.exchange, state)
        for (cat, sym), state in venue.exchange.symbols.items()
        if cat == category and (not symbol or sym == symbol)
    ]
    return {"category": category, "list": rows}

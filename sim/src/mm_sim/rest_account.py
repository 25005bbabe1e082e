"""Signed REST handlers for positions, wallet balance, fee rates and the DCP window."""

from __future__ import annotations

from typing import Any

from mm_sim.errors import parameter_error
from mm_sim.instruments import Instrument
from mm_sim.venue import Venue
from mm_sim.wallet import wallet_record

DCP_PRODUCTS = ("OPTIONS", "DERIVATIVES", "SPOT")


def position_list(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    category = params.get("category", "")
    if category != "linear":
        raise parameter_error(f"category must be linear, received {category!r}")
    symbol = str(params.get("symbol", ""))
    settle = str(params.get("settleCoin", ""))
    if not symbol and not settle:
        raise parameter_error("symbol or settleCoin is required for linear")
    exchange = venue.exchange
    account = exchange.accounts[uid]
    now = exchange.clock.now_ms()
    instruments: list[Instrument] = [
        state.instrument
        for (cat, sym), state in exchange.symbols.items()
        if cat == "linear"
        and (not symbol or sym == symbol)
        and (not settle or state.instrument.settle_coin == settle)
    ]
    if symbol and not instruments:
        raise parameter_error(f"symbol invalid {symbol!r}")
    rows = []
    for instrument in instruments:
        key = (instrument.category, instrument.symbol)
        if not symbol and key not in account.positions:
            continue
        position = account.position(instrument, now)
        if not symbol and position.size == 0:
            continue
        leverage = account.leverage_of(key, venue.settings.leverage)
        rows.append(position.record(exchange.mark_price(key), leverage, rest_shape=True))
    return {"list": rows, "nextPageCursor": "", "category": "linear"}


def wallet_balance(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("accountType") != "UNIFIED":
        raise parameter_error(
            f"accountType must be UNIFIED, received {params.get('accountType')!r}"
        )
    coin_text = str(params.get("coin", ""))
    coins = [coin for coin in coin_text.split(",") if coin] or None
    exchange = venue.exchange
    record = wallet_record(exchange.accounts[uid], exchange.marks(), venue.settings.leverage, coins)
    return {"list": [record]}


def fee_rate(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    category = params.get("category", "")
    if category not in ("linear", "spot"):
        raise parameter_error(f"category must be linear or spot, received {category!r}")
    symbol = str(params.get("symbol", ""))
    rows = [
        {
            "symbol": sym,
            "takerFeeRate": format(venue.settings.taker_fee_rate, "f"),
            "makerFeeRate": format(venue.settings.maker_fee_rate, "f"),
        }
        for (cat, sym) in venue.exchange.symbols
        if cat == category and (not symbol or sym == symbol)
    ]
    result: dict[str, Any] = {"list": rows}
    if category == "spot":
        result["category"] = "spot"
    return result


def disconnected_cancel_all(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    product = params.get("product", "OPTIONS")
    window = params.get("timeWindow")
    if product not in DCP_PRODUCTS:
        raise parameter_error(f"product must be one of {list(DCP_PRODUCTS)}, received {product!r}")
    if isinstance(window, bool) or not isinstance(window, int) or not 3 <= window <= 300:
        raise parameter_error(f"timeWindow must be an integer in [3, 300], received {window!r}")
    venue.exchange.accounts[uid].dcp_window_s[str(product)] = window
    return {}


def dcp_info(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    windows = venue.exchange.accounts[uid].dcp_window_s
    rows = [
        {"product": product, "dcpStatus": "ON", "timeWindow": str(window)}
        for product, window in windows.items()
    ]
    return {"dcpInfos": rows}

"""Public market views built from engine state: tickers and book snapshots in Bybit's shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.book import BUY, SELL
from mm_sim.exchange import Exchange, SymbolState
from mm_sim.funding import next_funding_ms
from mm_sim.orders import plain


def book_levels(state: SymbolState, side: str, depth: int) -> list[list[str]]:
    instrument = state.instrument
    return [
        [instrument.price_text(price), instrument.qty_text(lots)]
        for price, lots in state.book.top(side, depth)
    ]


def ticker(exchange: Exchange, state: SymbolState) -> dict[str, Any]:
    """The full ticker object for a symbol (linear or spot field set)."""
    instrument = state.instrument
    last = instrument.price_text(state.last_price_ticks)
    prev = instrument.price(state.prev_price_ticks)
    change = (instrument.price(state.last_price_ticks) - prev) / prev if prev else Decimal(0)
    common = {
        "symbol": instrument.symbol,
        "lastPrice": last,
        "prevPrice24h": instrument.price_text(state.prev_price_ticks),
        "price24hPcnt": plain(change.quantize(Decimal("0.000001"))),
        "highPrice24h": instrument.price_text(state.high_ticks),
        "lowPrice24h": instrument.price_text(state.low_ticks),
        "turnover24h": plain(state.turnover.quantize(Decimal("0.0001"))),
        "volume24h": instrument.qty_text(state.volume_lots),
    }
    bids = state.book.top(BUY, 1)
    asks = state.book.top(SELL, 1)
    if instrument.category == "spot":
        return common | {
            "bid1Price": instrument.price_text(bids[0][0]) if bids else "",
            "bid1Size": instrument.qty_text(bids[0][1]) if bids else "",
            "ask1Price": instrument.price_text(asks[0][0]) if asks else "",
            "ask1Size": instrument.qty_text(asks[0][1]) if asks else "",
            "usdIndexPrice": last,
        }
    mark = plain(exchange.mark_price((instrument.category, instrument.symbol)))
    now = exchange.clock.now_ms()
    settings = exchange.settings
    return common | {
        "tickDirection": state.last_tick_direction,
        "prevPrice1h": instrument.price_text(state.prev_price_ticks),
        "markPrice": mark,
        "indexPrice": mark,
        "openInterest": "0",
        "openInterestValue": "0",
        "nextFundingTime": str(next_funding_ms(now, settings.funding_interval_ms)),
        "fundingRate": plain(settings.funding_rate),
        "fundingIntervalHour": str(max(1, settings.funding_interval_ms // 3_600_000)),
        "fundingCap": "0.005",
        "bid1Price": instrument.price_text(bids[0][0]) if bids else "",
        "bid1Size": instrument.qty_text(bids[0][1]) if bids else "",
        "ask1Price": instrument.price_text(asks[0][0]) if asks else "",
        "ask1Size": instrument.qty_text(asks[0][1]) if asks else "",
        "deliveryTime": "0",
        "basisRate": "",
        "deliveryFeeRate": "",
        "predictedDeliveryPrice": "",
        "basis": "",
        "basisRateYear": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def spot_ws_ticker(row: dict[str, Any]) -> dict[str, Any]:
    """The spot `tickers` topic carries no bid or ask."""
    return {key: value for key, value in row.items() if not key.startswith(("bid1", "ask1"))}

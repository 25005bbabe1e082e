"""Builders for the ledger's inputs on BTCUSDT's grid (tick 0.10, lot 0.001)."""

from __future__ import annotations

from typing import Any

from mm_proto import (
    BookTop,
    Fill,
    FundingSettlement,
    InstrumentDefinition,
    Side,
)

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000
SYMBOL = "BTCUSDT"

INSTRUMENT = InstrumentDefinition(
    venue="bybit",
    category="linear",
    symbol=SYMBOL,
    base_coin="BTC",
    quote_coin="USDT",
    status="Trading",
    tick_size="0.10",
    lot_size="0.001",
    min_qty_lots=1,
    max_qty_lots=1_000_000,
    min_notional="5",
)


def top(bid: int, ask: int, ts: int) -> BookTop:
    return BookTop(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        bid_price_ticks=bid,
        bid_size_lots=5,
        ask_price_ticks=ask,
        ask_size_lots=5,
        update_id=1,
        ts_exchange_ns=ts,
        ts_gateway_ns=ts,
    )


_fill_count = 0


def fill(side: Side, price: int, lots: int, ts: int, fee: str = "0", **extra: Any) -> Fill:
    global _fill_count
    _fill_count += 1
    values: dict[str, Any] = {
        "venue": "bybit",
        "category": "linear",
        "symbol": SYMBOL,
        "fill_id": f"f{_fill_count}",
        "client_order_id": "mm-ex0-abc-1",
        "venue_order_id": "v1",
        "side": side,
        "price_ticks": price,
        "size_lots": lots,
        "fee": fee,
        "fee_currency": "USDT",
        "is_maker": True,
        "ts_exchange_ns": ts,
        "ts_received_ns": ts,
    }
    values.update(extra)
    return Fill(**values)


def funding(fee: str, position_lots: int, ts: int, funding_id: str = "fund-1") -> FundingSettlement:
    return FundingSettlement(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        funding_id=funding_id,
        position_lots=position_lots,
        funding_rate="0.0001",
        mark_price="65000",
        fee=fee,
        fee_currency="USDT",
        ts_exchange_ns=ts,
        ts_received_ns=ts,
    )

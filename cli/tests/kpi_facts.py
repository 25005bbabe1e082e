"""Builders for the facts `mm report` and `mm gate` read: the ledger's inputs on BTCUSDT (book tops
and fills, fed to the real ledger to make KPI snapshots), halts, and a real nats-server's KPI and
RISK streams holding them."""

from __future__ import annotations

from collections.abc import Sequence

import nats

from mm_proto import DEFAULT_COLOR, BookTop, Fill, KpiSnapshot, RiskEvent, Side, subjects
from mm_runtime.jetstream import ensure_layout, publish_fact


def top(bid: int, ts: int) -> BookTop:
    """BTCUSDT's top of book: one lot each side, the ask two ticks above `bid`."""
    return BookTop(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        bid_price_ticks=bid,
        bid_size_lots=1,
        ask_price_ticks=bid + 2,
        ask_size_lots=1,
        update_id=1,
        ts_exchange_ns=ts,
        ts_gateway_ns=ts,
    )


def fill(
    fill_id: str,
    side: Side,
    price: int,
    ts: int,
    color: str = DEFAULT_COLOR,
    is_maker: bool = True,
) -> Fill:
    """A fill of ten lots on BTCUSDT with a maker's rebate as its fee."""
    return Fill(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        fill_id=fill_id,
        client_order_id="c",
        venue_order_id="v",
        side=side,
        price_ticks=price,
        size_lots=10,
        fee="-0.0325",
        fee_currency="USDT",
        is_maker=is_maker,
        ts_exchange_ns=ts,
        ts_received_ns=ts,
        color=color,
    )


def halt(check: str, ts: int) -> RiskEvent:
    """A halt of BTCUSDT by `check`."""
    return RiskEvent(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        check=check,
        outcome="halt",
        limit="0",
        observed="1",
        detail="test",
        ts_event_ns=ts,
    )


async def store(
    url: str, snapshots: Sequence[KpiSnapshot] = (), events: Sequence[RiskEvent] = ()
) -> None:
    """Publish the snapshots to the KPI stream and the events to the RISK stream of BTCUSDT."""
    client = await nats.connect(url)
    js = client.jetstream()
    await ensure_layout(js)
    for index, snapshot in enumerate(snapshots):
        await publish_fact(js, subjects.kpi("bybit", "linear", "BTCUSDT"), snapshot, str(index))
    for index, event in enumerate(events):
        await publish_fact(
            js, subjects.risk_event("bybit", "linear", "BTCUSDT"), event, f"r{index}"
        )
    await client.drain()

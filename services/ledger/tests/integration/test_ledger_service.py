"""The ledger in-process on a real nats-server: EXEC and tops in, KPI snapshots out, restarts."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.merge import FACT, MARK
from mm_proto import FundingSettlement, Side, subjects
from mm_runtime.jetstream import publish_fact
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Stack

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the stack's instrument
T0 = 1_700_000_000_000_000_000


async def test_fills_and_tops_become_exact_snapshots_on_the_kpi_stream(stack: Stack) -> None:
    await stack.start()
    await stack.top(650000, 650002, T0)
    await stack.fill(Side.BUY, 650000, 10, T0 + 1, "-0.13")
    await stack.top(650010, 650012, T0 + 10**9)  # +1.0 on 0.010: inventory 0.01
    await stack.fill(Side.SELL, 650012, 10, T0 + 10**9 + 1, "-0.13")
    settlement = FundingSettlement(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        funding_id="fund-1",
        position_lots=10,
        funding_rate="0.0001",
        mark_price="65000",
        fee="0.065",
        fee_currency="USDT",
        ts_exchange_ns=T0 + 5,
        ts_received_ns=T0 + 5,
    )
    await publish_fact(stack.js, subjects.exec_funding(VENUE, CATEGORY, SYMBOL), settlement, "x")
    await stack.top(650010, 650012, T0 + 3 * 10**9)  # the watermark passes the last fill
    await eventually(lambda: _fills_booked(stack, 2), timeout=10, message="two fills booked")
    # spread 0.001 + 0.001, rebates 0.26, inventory 0.01, funding -0.065
    await eventually(lambda: _net_is(stack, Decimal("0.207")), timeout=10, message="net")
    markouts = [s for s in await stack.snapshots() if s.markout_fills]
    assert sum(s.markout_fills.get("0.5s", 0) for s in markouts) >= 1


async def test_a_restart_graceful_or_killed_books_nothing_twice(stack: Stack) -> None:
    first = await stack.start()
    await stack.top(650000, 650002, T0)
    await stack.fill(Side.BUY, 650000, 10, T0 + 1, "-0.13")
    await stack.top(650000, 650002, T0 + 10)  # the watermark passes the fill
    await eventually(lambda: _fills_booked(stack, 1), timeout=10, message="first fill booked")
    await stack.stop(first)
    second = await stack.start()
    await stack.fill(Side.BUY, 650000, 10, T0 + 2, "-0.13")
    await stack.top(650010, 650012, T0 + 10**9)  # inventory on 20 lots: 0.02
    await eventually(lambda: _fills_booked(stack, 2), timeout=10, message="second fill booked")
    await stack.fill(Side.SELL, 650013, 5, T0 + 10**9 + 5, "-0.065")  # likely not yet stored
    await stack.stop(second, graceful=False)  # unstored work is lost, its EXEC messages unacked
    await stack.start()
    await stack.top(650010, 650012, T0 + 2 * 10**9)
    # Spread 0.001 + 0.001 + 0.001, rebates 0.325, inventory 0.02: each counted once, whatever
    # died when (the killed ledger's unacked messages come again after exec_ack_wait_s).
    await eventually(lambda: _net_is(stack, Decimal("0.348")), timeout=20, message="net")
    await asyncio.sleep(1.0)
    assert await stack.net() == Decimal("0.348")
    assert await _fills_booked(stack, 3)


async def _fills_booked(stack: Stack, count: int) -> bool:
    return sum(s.fills for s in await stack.snapshots()) == count


async def _net_is(stack: Stack, expected: Decimal) -> bool:
    return await stack.net() == expected


async def test_a_stray_message_on_the_exec_inbox_is_dropped_and_fills_keep_being_booked(
    stack: Stack,
) -> None:
    ledger = await stack.start()
    for kind in (FACT, MARK):
        await stack.client.publish(ledger.feed.inbox(kind), b"not from the stream")
    await stack.top(650000, 650002, T0)
    await stack.fill(Side.BUY, 650000, 10, T0 + 1, "-0.13")
    await stack.top(650000, 650002, T0 + 10)  # the watermark passes the fill
    await eventually(lambda: _fills_booked(stack, 1), timeout=10, message="fill booked")
    registry = ledger.runtime.registry
    for consumer in (f"{subjects.EXEC_STREAM}-ledger", f"{subjects.MARKS_STREAM}-ledger-marks"):
        labels = {"subscription": consumer, "reason": "not_jetstream"}
        assert registry.get_sample_value("mm_bus_messages_dropped_total", labels) == 1
    assert ledger.readiness() == (True, "ok")

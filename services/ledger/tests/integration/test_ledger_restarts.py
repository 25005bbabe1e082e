"""A ledger killed and restarted mid-run books the same figures as one never interrupted.

Marks and EXEC facts (orders resting and leaving, fills, markouts due across the kills) are
published while the ledger is killed and started again; afterwards the sum of its stored KPI rows
equals a reference core fed the same stored inputs in one go (`ledger.replay`), exactly.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from ledger.kpi_store import latest_flush
from ledger.replay import read_stream, reference, totals
from mm_proto import Fill, OrderAccepted, OrderCancelled, Side, subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import publish_fact
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Stack

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the stack's instrument
T0 = 1_700_000_000_000_000_000
STEP = 100_000_000  # 0.1 s of venue time between marks
HOLD_MS = 3000


def _accepted(key: str, side: Side, price: int, ts: int) -> OrderAccepted:
    return OrderAccepted(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        client_order_id=key,
        venue_order_id=key,
        side=side,
        price_ticks=price,
        size_lots=5,
        ts_event_ns=ts,
    )


def _cancelled(order: OrderAccepted, ts: int) -> OrderCancelled:
    fields = {
        f: getattr(order, f) for f in order.__struct_fields__ if f not in ("type", "ts_event_ns")
    }
    return OrderCancelled(**fields, ts_event_ns=ts, reason="amend")


async def _step(stack: Stack, rng: random.Random, n: int, mid: int) -> int:
    """One 0.1 s step: quotes around the mid, sometimes a fill, then the mark."""
    ts = T0 + n * STEP
    bid = mid - 1
    buy = _accepted(f"b{n}", Side.BUY, bid - 1, ts + 1)
    sell = _accepted(f"s{n}", Side.SELL, bid + 3, ts + 2)
    await stack.order(buy)
    await stack.order(sell)
    if rng.random() < 0.3:
        fill = Fill(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            fill_id=f"f{n}",
            client_order_id=buy.client_order_id,
            venue_order_id="v",
            side=rng.choice((Side.BUY, Side.SELL)),
            price_ticks=bid - 1,
            size_lots=rng.randint(1, 5),
            fee="-0.0013",
            fee_currency="USDT",
            is_maker=True,
            ts_exchange_ns=ts + 3,
            ts_received_ns=ts + 3,
        )
        await publish_fact(
            stack.js, subjects.exec_fill(VENUE, CATEGORY, SYMBOL), fill, fill.fill_id
        )
    await stack.order(_cancelled(buy, ts + STEP - 2))
    await stack.order(_cancelled(sell, ts + STEP - 1))
    await stack.top(bid, bid + 2, ts + STEP // 2)
    return mid + rng.choice((-1, 0, 0, 1))


async def test_a_ledger_killed_twice_books_what_an_uninterrupted_core_books(stack: Stack) -> None:
    rng = random.Random(7)
    mid = 650_001
    service = await stack.start(reorder_hold_ms=HOLD_MS, markout_horizons_s=(0.5, 2.0))
    for n in range(150):
        mid = await _step(stack, rng, n, mid)
        if n in (50, 100):  # the second kill lands while the first restart's replay is fresh
            await stack.stop(service, graceful=False)
            for m in range(n + 1, n + 10):  # published while the ledger is down
                mid = await _step(stack, rng, m, mid)
            service = await stack.start(reorder_hold_ms=HOLD_MS, markout_horizons_s=(0.5, 2.0))
        await asyncio.sleep(0.01)
    for n in range(170, 230):  # 6 s more marks: every fill's 2 s horizon passes the hold
        await stack.top(mid - 1, mid + 1, T0 + n * STEP)
    await asyncio.sleep(1.0)  # a few more flushes
    await stack.stop(service)

    newest = await latest_flush(stack.js, VENUE, CATEGORY, 10_000)
    marks = await read_stream(stack.js, subjects.MARKS_STREAM, subjects.mark_pattern())
    facts = await read_stream(stack.js, subjects.EXEC_STREAM, subjects.domain_pattern("exec"))
    expected = totals(reference([example_instrument()], (0.5, 2.0), marks, facts, newest))
    booked = totals(await stack.snapshots())
    assert booked == expected
    [row] = [figures for key, figures in booked.items() if key[1] == "all"]
    assert row["observed_nanos"] > 0
    assert row["depth_10bps_lot_nanos"] > 0
    markouts = sum(f["markout_fills"].get("2s", 0) for k, f in booked.items() if k[1] != "all")
    fills = sum(f["fills"] for k, f in booked.items() if k[1] != "all")
    assert fills > 20
    assert markouts == fills  # every fill is older than 2 s of marks by the end


async def test_a_kill_before_the_first_flush_replays_everything(stack: Stack) -> None:
    service = await stack.start(reorder_hold_ms=HOLD_MS, snapshot_interval_s=30, exec_ack_wait_s=90)
    rng = random.Random(3)
    mid = 650_001
    for n in range(60):  # 6 s of venue time, half of it past the hold
        mid = await _step(stack, rng, n, mid)
    await stack.stop(service, graceful=False)
    service = await stack.start(reorder_hold_ms=HOLD_MS)
    await eventually(lambda: _snapshots(stack), timeout=10, message="a flush")
    await stack.stop(service)
    newest = await latest_flush(stack.js, VENUE, CATEGORY, 10_000)
    marks = await read_stream(stack.js, subjects.MARKS_STREAM, subjects.mark_pattern())
    facts = await read_stream(stack.js, subjects.EXEC_STREAM, subjects.domain_pattern("exec"))
    expected = totals(reference([example_instrument()], (0.5,), marks, facts, newest))
    assert totals(await stack.snapshots()) == expected


async def _snapshots(stack: Stack) -> bool:
    return bool(await stack.snapshots())

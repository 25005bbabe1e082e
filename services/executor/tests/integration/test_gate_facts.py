"""What the executor stores for `mm gate` against the simulator: each reconciliation's outcome
per symbol (clean, or what differed), and tick-to-order summarised per minute, never per order."""

from __future__ import annotations

import time
from typing import Any

from mm_bybit.order_requests import CreateOrder
from mm_proto import OrderTarget, QuoteLevel, ReconciliationResult, encode, subjects
from mm_runtime.testing import eventually

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"


async def _results(harness: Any, count: int) -> list[ReconciliationResult] | None:
    found = await harness.stream("reconciliation")
    return found if len(found) >= count else None


async def _resting(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def test_reconciliations_are_stored_clean_and_a_foreign_order_is_a_mismatch(
    harness: Any,
) -> None:
    first = await harness.start_executor(harness.settings(cancel_on_shutdown=False))
    clean = await eventually(lambda: _results(harness, 1), timeout=10, message="a result")
    assert [(r.symbol, r.outcome, r.detail) for r in clean] == [(SYMBOL, "clean", "")]
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _resting(harness, 2), timeout=10, message="orders rest")
    await harness.stop_executor(first)
    foreign = await harness.api.send_order(
        CreateOrder(
            category=CATEGORY,
            symbol=SYMBOL,
            side="Buy",
            order_type="Limit",
            qty="0.005",
            price=f"{(bid - 20) / 10:.1f}",
            time_in_force="PostOnly",
            order_link_id="manual-1",
        )
    )
    await harness.start_executor(harness.settings())
    both = await eventually(lambda: _results(harness, 2), timeout=10, message="two results")
    second = both[1]
    # Its own two resting orders, adopted by a process that knew none, are not a mismatch.
    assert (second.outcome, second.adopted, second.foreign) == ("mismatch", 0, 1)
    assert second.detail == f"foreign: {foreign.order_id}"
    assert second.reason == "private stream subscribed"


async def test_tick_to_order_is_summarised_per_minute_and_not_published_per_order(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    for shift, age_s in ((30, 2.0), (40, 3.0)):
        target = OrderTarget(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bids=[QuoteLevel(price_ticks=bid - shift, size_lots=7)],
            asks=[QuoteLevel(price_ticks=ask + shift, size_lots=7)],
            target_id=f"timed-{shift}",
            intent_id=f"timed-{shift}",
            ts_target_ns=time.time_ns(),
            ts_tick_ns=time.time_ns() - int(age_s * 1e9),
        )
        subject = subjects.order_target(VENUE, CATEGORY, SYMBOL)
        await harness.client.publish(subject, encode(target))
        await eventually(lambda s=shift: _bid_at(harness, bid - s), timeout=10, message="moved")
    assert await harness.stream("tick_to_order") == []  # nothing before the minute ends
    assert await service.latency.flush(service._facts.publish) == 1
    [summary] = await harness.stream("tick_to_order")
    assert (summary.symbol, summary.count, summary.sampled) == (SYMBOL, 2, 2)
    assert 2.0e9 <= summary.p50_nanos < 3.0e9 <= summary.p99_nanos == summary.max_nanos < 60e9
    assert await service.latency.flush(service._facts.publish) == 0  # an idle minute: nothing


async def _bid_at(harness: Any, bid_ticks: int) -> bool:
    return any(order[2] == bid_ticks for order in await harness.venue_orders())

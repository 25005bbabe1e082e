"""The executor times tick-to-order from the target's ts_tick_ns to the first venue request, as
the request leaves: a wait for a slot of the rate budget is part of the sample."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mm_bybit.rate_budget import ORDER_CANCEL_PATHS, ORDER_CREATE_PATHS, Priority
from mm_proto import OrderTarget, QuoteLevel, encode, subjects
from mm_runtime.testing import eventually

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"


def _count(service: Any) -> float:
    name = "mm_executor_tick_to_order_seconds_count"
    return float(service._runtime.registry.get_sample_value(name, {}) or 0.0)


def _sum(service: Any) -> float:
    name = "mm_executor_tick_to_order_seconds_sum"
    return float(service._runtime.registry.get_sample_value(name, {}) or 0.0)


async def test_a_target_with_a_tick_time_is_timed_once_and_one_without_is_not(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 5, 5)], [(ask + 5, 5)])  # ts_tick_ns 0: not timed
    await eventually(lambda: _has_orders(harness, 2), timeout=10, message="first orders rest")
    assert _count(service) == 0
    tick_ns = time.time_ns() - 2_000_000_000  # a tick two seconds old: the sample shows it
    target = OrderTarget(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        bids=[QuoteLevel(price_ticks=bid - 30, size_lots=7)],
        asks=[QuoteLevel(price_ticks=ask + 30, size_lots=7)],
        target_id="timed",
        intent_id="timed",
        ts_target_ns=time.time_ns(),
        ts_tick_ns=tick_ns,
    )
    await harness.client.publish(subjects.order_target(VENUE, CATEGORY, SYMBOL), encode(target))
    await eventually(lambda: _has_shape(harness, bid - 30), timeout=10, message="moved")
    await eventually(lambda: _count(service) == 1, timeout=10, message="one tick sample")
    assert 2.0 <= _sum(service) < 60.0


async def test_a_send_that_waits_for_the_rate_budget_shows_the_wait_in_its_sample(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 5, 5)], [(ask + 5, 5)])
    await eventually(lambda: _has_orders(harness, 2), timeout=10, message="first orders rest")
    # Every order-action slot is taken, as a spent budget would be, for `held_s`.
    held_s = 0.8
    # (All taken first: taking one may wait for the first orders' slots to age out.)
    held = []
    for path in ORDER_CREATE_PATHS | ORDER_CANCEL_PATHS:
        bucket = service._rest.budget.bucket(path)
        await bucket.acquire(Priority.CANCEL, bucket.limit)
        held.append((bucket, bucket.limit))
    # The tick's time is taken before the releases are scheduled: taken after, a loaded machine
    # that paused the test between the two made the wait look shorter than the hold.
    published = time.time_ns()
    loop = asyncio.get_running_loop()
    for bucket, slots in held:
        loop.call_later(held_s, bucket.release, slots, False)
    await harness.target([(bid - 30, 7)], [(ask + 30, 7)], ts_tick_ns=published)
    await eventually(lambda: _has_shape(harness, bid - 30), timeout=10, message="moved")
    await eventually(lambda: _count(service) == 1, timeout=10, message="one tick sample")
    timer_granularity_s = 0.001  # uvloop's timers count whole milliseconds of a cached clock
    assert held_s - timer_granularity_s <= _sum(service) < held_s + 5.0


async def _has_orders(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _has_shape(harness: Any, bid_ticks: int) -> bool:
    return any(order[2] == bid_ticks for order in await harness.venue_orders())

"""Off a stale book without waiting for risk: md_gateway's `md.status.*` saying a symbol's feed
is not live makes the executor cancel that symbol's orders at the simulator at once and act on no
quoting target until the feed is live again or risk quotes on a newer book."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mm_proto import FeedState, FeedStatus, OrderCancelled, encode, subjects
from mm_runtime.testing import eventually

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
HOLD_S = 0.5  # a window in which a worker that ignored the stale feed would send


async def feed_status(harness: Any, state: FeedState, symbol: str = SYMBOL) -> int:
    now = time.time_ns()
    status = FeedStatus(
        venue=VENUE, category=CATEGORY, symbol=symbol, state=state, reason="test",
        last_update_id=1, ts_event_ns=now,
    )  # fmt: skip
    await harness.client.publish(subjects.feed_status(VENUE, CATEGORY, symbol), encode(status))
    await harness.client.flush()
    return now


def stale_cancels(service: Any) -> float:
    value = service._runtime.registry.get_sample_value("mm_executor_stale_feed_cancels_total")
    return float(value or 0.0)


def statuses_handled(service: Any) -> float:
    """Feed statuses the executor's handler has run on (counted as the handler starts, which
    then runs to its end without yielding)."""
    pattern = subjects.feed_status_pattern(VENUE, CATEGORY)
    value = service._runtime.registry.get_sample_value(
        "mm_bus_messages_received_total", {"subscription": pattern}
    )
    return float(value or 0.0)


async def _count_is(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _resting(harness: Any, service: Any, bid: int, ask: int) -> set[str]:
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], ts_tick_ns=time.time_ns())
    await eventually(lambda: _count_is(harness, 2), timeout=10, message="two orders rest")
    return {link_id for link_id, *_ in await harness.venue_orders()}


async def _cancels_on_exec(harness: Any) -> list[str]:
    events = await harness.stream("exec_order")
    return [event.client_order_id for event in events if isinstance(event, OrderCancelled)]


async def test_a_stale_feed_cancels_the_symbols_orders_and_the_old_target_is_not_replayed(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    resting = await _resting(harness, service, bid, ask)

    await feed_status(harness, FeedState.STALE)
    await eventually(lambda: _count_is(harness, 0), timeout=5, message="orders cancelled")
    assert stale_cancels(service) == 1
    # Each cancel is on EXEC once: the push and the read-back carry the same venue state.
    await eventually(lambda: _has_all(harness, resting), timeout=10, message="cancels on EXEC")
    await asyncio.sleep(HOLD_S)
    assert sorted(await _cancels_on_exec(harness)) == sorted(resting)

    # A quoting target from a book older than the stale status is not acted on...
    await harness.target([(bid - 3, 5)], [(ask + 3, 5)], ts_tick_ns=time.time_ns() - 10**9)
    await asyncio.sleep(HOLD_S)
    assert await harness.venue_orders() == set()
    # ...nor replayed when the feed is live again: only a newer target places orders.
    await feed_status(harness, FeedState.LIVE)
    await asyncio.sleep(HOLD_S)
    assert await harness.venue_orders() == set()
    await harness.target([(bid - 4, 5)], [(ask + 4, 5)], ts_tick_ns=time.time_ns())
    await eventually(lambda: _count_is(harness, 2), timeout=10, message="quoting resumes")


async def test_repeated_stale_statuses_cancel_once_and_a_newer_quote_lifts_the_gate(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await _resting(harness, service, bid, ask)

    for state in (FeedState.STALE, FeedState.RESYNCING, FeedState.STALE):
        stale_at = await feed_status(harness, state)
    await eventually(lambda: _count_is(harness, 0), timeout=5, message="orders cancelled")
    # The first status cancels; a later one still queued when the target below is handled (its
    # own subscription, no order across the two) would gate the symbol again after the lift.
    await eventually(lambda: statuses_handled(service) == 3, timeout=5, message="all handled")
    assert stale_cancels(service) == 1

    # The `live` status is lost; risk's target on a book newer than the stale one resumes quoting.
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], ts_tick_ns=stale_at + 1)
    await eventually(lambda: _count_is(harness, 2), timeout=10, message="quoting resumes")
    assert service.workers[SYMBOL].feed_stale_since_ns == 0


async def test_a_stale_status_of_another_symbol_leaves_these_orders_alone(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await _resting(harness, service, bid, ask)

    await feed_status(harness, FeedState.STALE, symbol="ETHUSDT")  # not this executor's symbol
    await harness.client.publish(subjects.feed_status(VENUE, CATEGORY, SYMBOL), b"\x00garbage")
    await asyncio.sleep(HOLD_S)
    assert len(await harness.venue_orders()) == 2
    assert stale_cancels(service) == 0
    assert service.workers[SYMBOL].feed_stale_since_ns == 0


async def _has_all(harness: Any, client_ids: set[str]) -> bool:
    return client_ids <= set(await _cancels_on_exec(harness))


async def test_orders_cancelled_while_the_private_stream_is_silent_still_end_on_exec(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    resting = await _resting(harness, service, bid, ask)

    await harness.sim.admin.set_faults({"private_silence": True})  # the cancel pushes are lost
    await feed_status(harness, FeedState.STALE)
    await eventually(lambda: _count_is(harness, 0), timeout=5, message="orders cancelled")
    await eventually(lambda: _has_all(harness, resting), timeout=10, message="cancels on EXEC")
    assert service.own_orders[SYMBOL].live_orders() == []

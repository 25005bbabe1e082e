"""Fail closed when facts cannot be stored: a real nats-server restarted without JetStream while
orders rest at the simulator, then restarted with it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from mm_bybit.errors import ServerBusy
from mm_proto import OrderCancelled
from mm_runtime.testing import NatsServer, eventually

SYMBOL = "BTCUSDT"


def gauge(service: Any, name: str) -> float:
    return float(service._runtime.registry.get_sample_value(name) or 0.0)


async def _count_is(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _count_is_despite_faults(harness: Any, count: int) -> bool:
    try:
        return await _count_is(harness, count)
    except ServerBusy:  # the test's own query met the venue's injected fault
        return False


async def _cancelled_ids(harness: Any) -> set[str]:
    return {
        event.client_order_id
        for event in await harness.stream("exec_order")
        if isinstance(event, OrderCancelled)
    }


async def test_without_jetstream_orders_are_cancelled_targets_ignored_and_facts_stored_later(
    harness: Any, nats_server: NatsServer
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10, message="two orders rest")
    resting = {link_id for link_id, *_ in await harness.venue_orders()}

    await asyncio.to_thread(nats_server.restart, False)  # the same server, JetStream gone
    await eventually(lambda: service.store_down_reason is not None, timeout=15)
    await eventually(lambda: _count_is(harness, 0), timeout=15, message="orders cancelled")
    ready, why = service.readiness()
    assert not ready
    assert "failed closed" in why
    assert gauge(service, "mm_executor_fact_store_down") == 1
    status = await eventually(harness.status, timeout=10)
    assert status["fact_store"].startswith("jetstream")

    # Targets keep coming while the store is down: none is acted on.
    await harness.heartbeat()
    target = await harness.target([(bid - 3, 5)], [(ask + 3, 5)])
    worker = service.workers[SYMBOL]
    await eventually(lambda: worker._target is not None and worker._target == target, timeout=10)
    await asyncio.sleep(0.5)  # a window in which a worker that ignored the fault would send
    assert await harness.venue_orders() == set()
    held = [fact.message for fact in service._facts.backlog]
    held_cancels = {m.client_order_id for m in held if isinstance(m, OrderCancelled)}
    assert held_cancels == resting

    await asyncio.to_thread(nats_server.restart)  # JetStream back, on the same store
    await eventually(lambda: service.store_down_reason is None, timeout=30)
    await eventually(lambda: service.readiness()[0], timeout=15, message="ready again")
    assert resting <= await eventually(lambda: _cancelled_ids(harness), timeout=15)
    assert gauge(service, "mm_executor_fact_store_down") == 0
    assert len(service._facts.backlog) == 0

    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=15, message="trading again")


async def test_the_watchdog_retries_its_cancel_all_until_the_venue_lists_no_orders(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    service = await harness.start_executor(harness.settings(watchdog_timeout_s=2.0))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10, message="two orders rest")
    caplog.set_level(logging.WARNING, logger="executor")
    await harness.heartbeat()
    # The venue fails the next three REST calls: the first cancel-all and its check among them.
    await harness.sim.admin.set_faults({"rest_error": "http_5xx", "rest_error_count": 3})
    await eventually(
        lambda: service.metrics.watchdog_trips._value.get() == 1, timeout=10, message="trip"
    )
    await eventually(lambda: _count_is_despite_faults(harness, 0), timeout=20, message="retried")
    trips = [r for r in caplog.records if r.getMessage() == "risk silent; cancelling every order"]
    assert len(trips) == 1
    silence_s = trips[0].__dict__["silence_s"]
    assert 2.0 <= silence_s < 5.0  # the silence, not the monotonic clock
    retries = [r for r in caplog.records if r.getMessage().startswith("cancel-all not confirmed")]
    assert retries

"""The executor's background tasks under the runtime's supervisor: the restartable ones come back
with readiness false in between; a symbol worker's end takes the process down, and its shutdown
leaves no order resting at the venue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mm_runtime.lifecycle import TaskFailedError
from mm_runtime.testing import eventually, kill_and_watch_it_return

RESTARTED = {
    "executor-feed",
    "executor-housekeeping",
    "executor-heartbeat",
    "executor-follow-config-executor.>",  # the config follower, supervised by the bus
    "executor-facts",
    "executor-latency",  # its samples live in the window object, not the coroutine
    "executor-reconciliation",  # the periodic one: a restart only starts its interval again
    "executor-watchdog",
    "executor-private-ws",
    "executor-trade-ws",
}


async def resting(harness: Any) -> set[tuple[str, int, int]]:
    return {(side, price, leaves) for _, side, price, leaves in await harness.venue_orders()}


async def test_every_restartable_executor_task_killed_comes_back_and_targets_still_trade(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    tasks = service._runtime.tasks
    assert set(tasks.names) == RESTARTED | {"executor-worker-BTCUSDT"}
    for name in sorted(RESTARTED):
        await kill_and_watch_it_return(tasks, name)
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])

    async def placed() -> bool:
        return await resting(harness) == {("buy", bid - 2, 5), ("sell", ask + 2, 5)}

    await eventually(placed, timeout=10, message="orders rest after the restarts")


async def test_a_killed_symbol_worker_takes_the_executor_down_and_its_orders_with_it(
    harness: Any,
) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])

    async def placed() -> bool:
        return len(await resting(harness)) == 2

    await eventually(placed, timeout=10, message="orders rest")
    ((task, _stop, _service),) = harness.running
    worker = service._runtime.tasks.task("executor-worker-BTCUSDT")
    worker.cancel()
    with pytest.raises(TaskFailedError, match="executor-worker-BTCUSDT cancelled"):
        await asyncio.wait_for(task, timeout=20)
    harness.running.clear()
    assert await resting(harness) == set()

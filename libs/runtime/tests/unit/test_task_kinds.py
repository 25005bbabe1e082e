"""The supervisor tells a task that ends by itself once its job is done from a long-lived one, so
a test killing every long-lived task does not race a binding that is about to finish."""

from __future__ import annotations

import asyncio

from mm_runtime.tasks import TaskSupervisor


async def test_a_binding_task_is_told_apart_from_a_long_lived_one() -> None:
    tasks = TaskSupervisor()
    forever = asyncio.Event()
    tasks.spawn("loop", forever.wait)
    bound = asyncio.Event()

    async def bind() -> None:
        bound.set()

    tasks.spawn("bind", bind, finishes=True)
    await asyncio.wait_for(bound.wait(), 5)
    assert not tasks.finishes("loop")
    assert tasks.finishes("bind")
    assert not tasks.finishes("never-spawned")
    await tasks.stop()

"""The ledger's background tasks run under the runtime's supervisor: one that ends takes the
process down (its books are rebuilt from the last stored flush), and the others are named."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from mm_runtime.lifecycle import TaskFailedError

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Stack

TASKS = {"ledger-exec-feed", "ledger-marks-feed", "ledger-flush"}


@pytest.mark.parametrize("name", sorted(TASKS))
async def test_a_ledger_task_that_ends_takes_the_ledger_down_naming_it(
    stack: Stack, name: str
) -> None:
    service = await stack.start()
    tasks = service.runtime.tasks
    assert set(tasks.names) >= TASKS
    ((serving, _stop, _service),) = stack.running
    task = tasks.task(name)
    assert task is not None
    task.cancel()
    with pytest.raises(TaskFailedError, match=f"{name} cancelled"):
        await asyncio.wait_for(serving, timeout=15)
    stack.running.clear()

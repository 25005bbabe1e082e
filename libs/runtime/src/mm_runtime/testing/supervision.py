"""Killing a service's supervised task in a test and watching readiness drop and it come back."""

from __future__ import annotations

from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing.waiting import eventually


async def kill_and_watch_it_return(tasks: TaskSupervisor, name: str, timeout: float = 10) -> None:  # noqa: ASYNC109
    """Cancel task `name`'s running incarnation; wait until the supervisor reports it (readiness
    false), restarts it (a new incarnation) and readiness is true again."""
    killed = tasks.task(name)
    assert killed is not None, f"no running task {name!r}"
    killed.cancel()
    await eventually(
        lambda: not tasks.readiness()[0], timeout=5, interval=0.002, message=f"{name} reported"
    )
    assert name in tasks.readiness()[1]

    def restarted() -> bool:
        current = tasks.task(name)
        return current is not None and current is not killed and not current.done()

    await eventually(restarted, timeout=timeout, message=f"{name} restarted")
    await eventually(lambda: tasks.readiness()[0], timeout=timeout, message=f"ready after {name}")

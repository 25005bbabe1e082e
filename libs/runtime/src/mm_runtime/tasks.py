"""Supervised background tasks: no long-lived task of a service may end unobserved.

Every service starts its long-lived loops through `Runtime.tasks` (a `TaskSupervisor`) rather than
`asyncio.create_task`. While the service runs, a task that ends for any reason (it raised, it
returned, or something cancelled it) is an unexpected end: it is logged at error level with its
exception, counted in `mm_task_unexpected_ends_total{task}`, and turns `/readyz` false with the
task's name and why. What happens next is chosen per task when it is spawned:

- `OnEnd.RESTART`: the task is started again after a backoff (doubling from `backoff_base_s` up
  to `backoff_cap_s`, back to the base once an incarnation ran for `reset_after_s`). Readiness
  comes back once the new incarnation has run for `settle_s`. For loops whose state lives outside
  the coroutine (a subscription, a queue, a clock) and that can pick up where they left.
- `OnEnd.EXIT`: the supervisor records the failure in `fatal` and sets `fatal_event`; the
  lifecycle then shuts the service down and the process exits non-zero so that its supervisor
  (`mm run`, Kubernetes) starts a fresh one. For tasks whose loss leaves state a restart of the
  coroutine alone cannot rebuild.

A task spawned with `finishes=True` has a job that ends (bind to a stream, retrying until it
exists): its normal return is the job done, not a failure; raising or being cancelled still is.
Ends after `close()` or `stop()` (the service is shutting down) are expected and only logged at
debug level.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from mm_runtime.logs import SecretRegistry

_log = logging.getLogger("mm_runtime.tasks")

TaskFactory = Callable[[], Coroutine[Any, Any, Any]]


class OnEnd(StrEnum):
    """What the supervisor does when a task ends while the service runs."""

    RESTART = "restart"
    EXIT = "exit"


@dataclass
class _Entry:
    name: str
    factory: TaskFactory
    on_end: OnEnd
    finishes: bool = False
    runner: asyncio.Task[None] | None = None
    task: asyncio.Task[Any] | None = None
    up_since: float = 0.0
    down: str = ""  # why the last incarnation ended; "" once a new one has settled
    ends: int = 0
    stopping: bool = False


class TaskSupervisor:
    """Owns a service's background tasks; see the module docstring for the policy."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        backoff_base_s: float = 0.1,
        backoff_cap_s: float = 5.0,
        reset_after_s: float = 30.0,
        settle_s: float = 1.0,
    ) -> None:
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.reset_after_s = reset_after_s
        self.settle_s = settle_s
        self.fatal = ""
        self.fatal_event = asyncio.Event()
        self._entries: dict[str, _Entry] = {}
        self._closing = False
        self._ends = Counter(
            "mm_task_unexpected_ends_total",
            "Background tasks that ended while the service ran, by task and next step",
            ["task", "then"],
            registry=registry,
        )

    def spawn(
        self,
        name: str,
        factory: TaskFactory,
        on_end: OnEnd = OnEnd.RESTART,
        *,
        finishes: bool = False,
    ) -> None:
        """Start `factory()` as the supervised task `name` (names are unique per service)."""
        if name in self._entries and not self._entries[name].stopping:
            raise ValueError(f"a task named {name!r} is already supervised")
        entry = _Entry(name, factory, on_end, finishes)
        self._entries[name] = entry
        entry.runner = asyncio.create_task(self._supervise(entry), name=f"supervise-{name}")

    def task(self, name: str) -> asyncio.Task[Any] | None:
        """The running incarnation of `name` (tests kill it through this), or None."""
        entry = self._entries.get(name)
        return entry.task if entry is not None else None

    def finishes(self, name: str) -> bool:
        """Whether `name` ends by itself once its job is done (a binding), not a long-lived task."""
        entry = self._entries.get(name)
        return entry is not None and entry.finishes

    @property
    def names(self) -> list[str]:
        return [name for name, entry in self._entries.items() if not entry.stopping]

    def readiness(self) -> tuple[bool, str]:
        """Not ready while a task is down, restarting, or settling after a restart."""
        if self.fatal:
            return False, f"task {self.fatal}; exiting"
        now = time.monotonic()
        for entry in self._entries.values():
            if not entry.down or entry.stopping:
                continue
            running = entry.task is not None and not entry.task.done()
            if running and now - entry.up_since >= self.settle_s:
                entry.down = ""
                continue
            state = "settling after a restart" if running else "restarting"
            return False, f"task {entry.name} ended ({entry.down}); {state}"
        return True, "ok"

    def close(self) -> None:
        """From now on every end is expected (the service is stopping); nothing restarts."""
        self._closing = True

    async def cancel(self, name: str) -> None:
        """Stop one task on purpose (a service's orderly shutdown, in its own order)."""
        entry = self._entries.get(name)
        if entry is None or entry.runner is None:
            return
        entry.stopping = True
        entry.runner.cancel()
        await asyncio.gather(entry.runner, return_exceptions=True)

    async def stop(self) -> None:
        """Close, then cancel every task and wait for them."""
        self.close()
        for name in list(self._entries):
            await self.cancel(name)

    async def _supervise(self, entry: _Entry) -> None:
        delay = self.backoff_base_s
        while True:
            entry.up_since = time.monotonic()
            inner = asyncio.create_task(entry.factory(), name=entry.name)
            entry.task = inner
            try:
                await asyncio.wait({inner})
            except asyncio.CancelledError:
                inner.cancel()
                await asyncio.gather(inner, return_exceptions=True)
                raise
            if self._closing or entry.stopping:
                error = None if inner.cancelled() else inner.exception()  # retrieved, not lost
                extra = {"task": entry.name, "error": repr(error) if error else ""}
                _log.debug("task ended during shutdown", extra=extra)
                return
            if entry.finishes and not inner.cancelled() and inner.exception() is None:
                _log.debug("task finished its job", extra={"task": entry.name})
                entry.down = ""
                return
            self._report_end(entry, inner)
            if entry.on_end is OnEnd.EXIT:
                return
            if time.monotonic() - entry.up_since >= self.reset_after_s:
                delay = self.backoff_base_s
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_cap_s)
            if self._closing:
                return
            _log.warning("restarting task", extra={"task": entry.name, "ends": entry.ends})

    def _report_end(self, entry: _Entry, inner: asyncio.Task[Any]) -> None:
        error: BaseException | None = None
        if inner.cancelled():
            why = "cancelled"
        else:
            error = inner.exception()
            # Redacted: the reason is served on /readyz, where the log redactor does not reach.
            why = SecretRegistry.redact(f"raised {error!r}") if error is not None else "returned"
        entry.down = why
        entry.ends += 1
        self._ends.labels(entry.name, entry.on_end.value).inc()
        extra = {"task": entry.name, "then": entry.on_end.value, "why": why}
        exc_info = (type(error), error, error.__traceback__) if error is not None else None
        _log.error("background task ended unexpectedly", extra=extra, exc_info=exc_info)
        if entry.on_end is OnEnd.EXIT:
            self.fatal = f"{entry.name} {why}"
            self.fatal_event.set()

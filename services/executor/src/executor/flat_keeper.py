"""Keeping the account flat while the executor must not trade (risk silent, facts unstorable).

One task at a time: it waits for each symbol's plan in flight (taking and releasing the worker's
lock, so every later plan sees the flag that stopped it), then cancels every order and asks the
venue until it lists none, retrying with backoff while the cause holds. Shutdown's single
cancel-all (`cancel_once`) holds the locks through it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

from executor.commands import cancel_all, cancel_all_until_confirmed
from executor.own_orders import OwnOrders
from executor.symbol_worker import SymbolWorker
from mm_bybit.api import BybitRestApi

_log = logging.getLogger("executor.flat")

LOCK_WAIT_S = 2.0  # how long to wait for a plan in flight before cancelling anyway


class FlatKeeper:
    """Runs the confirmed cancel-all; one task serves every cause (see `must_stay_flat`)."""

    def __init__(
        self,
        api: Callable[[], BybitRestApi],
        category: str,
        workers: dict[str, SymbolWorker],
        must_stay_flat: Callable[[], bool],
        symbols: Callable[[], list[str]] | None = None,
    ) -> None:
        self._api = api
        # The symbols a cancel-all may touch (lease mode: only those this replica holds).
        self.symbols = symbols or (lambda: list(self.workers))
        self.category = category
        self.workers = workers
        self.must_stay_flat = must_stay_flat
        self.task: asyncio.Task[None] | None = None

    def start(self, reason: str) -> None:
        """Start the confirmed cancel-all unless one is already running."""
        if self.task is not None and not self.task.done():
            return
        self.task = asyncio.create_task(self._run(reason), name="executor-keep-flat")
        self.task.add_done_callback(_log_unexpected_end)

    def tasks(self) -> Iterable[asyncio.Task[None]]:
        return [self.task] if self.task is not None else []

    async def cancel_once(self, symbols: list[str], reason: str) -> None:
        """One cancel-all at the venue (shutdown) while every worker's lock is held, so nothing
        the workers send can land after it."""
        async with holding(self.workers.values()):
            await cancel_all(self._api(), self.category, symbols, reason)

    async def _run(self, reason: str) -> None:
        await quiesce(self.workers.values())
        await cancel_all_until_confirmed(
            self._api(), self.category, self.symbols(), reason, self.must_stay_flat
        )


async def quiesce(workers: Iterable[SymbolWorker]) -> None:
    """Take and release each worker's lock once (waiting at most LOCK_WAIT_S in all)."""
    async with holding(workers):
        pass


@contextlib.asynccontextmanager
async def holding(workers: Iterable[SymbolWorker]) -> AsyncIterator[None]:
    """Hold every worker's lock (waiting at most LOCK_WAIT_S in all for plans in flight; a
    worker still busy past that is logged and not held), releasing them on the way out."""
    async with contextlib.AsyncExitStack() as held:
        deadline = time.monotonic() + LOCK_WAIT_S
        for worker in workers:
            try:
                await asyncio.wait_for(worker.lock.acquire(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                _log.warning(
                    "cancel-all while a plan is in flight", extra={"symbol": worker.symbol}
                )
                continue
            held.callback(worker.lock.release)
        yield


async def await_orders_gone(own_orders: Mapping[str, OwnOrders], timeout_s: float) -> None:
    """Wait (at most `timeout_s`) until no symbol holds an order of ours."""
    deadline = time.monotonic() + timeout_s
    # Polls: the orders leave through the feed's pushes, which signal nothing finer.
    while time.monotonic() < deadline and any(  # noqa: ASYNC110
        own.orders for own in own_orders.values()
    ):
        await asyncio.sleep(0.02)


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error(
            "background task ended", extra={"task": task.get_name()}, exc_info=task.exception()
        )

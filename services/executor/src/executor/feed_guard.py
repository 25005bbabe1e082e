"""The short path off a stale book: the executor acts on md_gateway's `md.status.*` itself.

The normal chain (gateway status -> quoter pull -> risk cancel-all target -> executor) takes three
bus hops and, when the venue's sockets dropped with the feed, waits for the private stream's
reconciliation before any worker acts. So when a symbol's feed turns not live, this guard
(1) gates the symbol's worker: it plans against an empty ladder, whatever target it holds, and
(2) asks the venue at once (REST cancel-all for the symbol, which needs no view of our orders and
no reconciliation), then once more after any plan that was in flight has landed. The venue's own
disconnect-cancel stays the backstop.

The gate lifts on a `live` status, or on a quoting target risk derived from a book newer than the
status that closed it (so a lost `live` message cannot keep a symbol off the book). Repeated
non-live statuses (the gateway's heartbeat) cancel once per transition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from executor.commands import cancel_all
from executor.flat_keeper import quiesce
from executor.metrics import ExecutorMetrics
from executor.symbol_worker import SymbolWorker
from mm_bybit.api import BybitRestApi
from mm_proto import FeedState, FeedStatus

_log = logging.getLogger("executor.feed")


class FeedGuard:
    """Per symbol: cancels at the venue when its feed leaves `live`, and gates its worker."""

    def __init__(
        self,
        api: Callable[[], BybitRestApi],
        category: str,
        workers: dict[str, SymbolWorker],
        metrics: ExecutorMetrics,
    ) -> None:
        self._api = api
        self.category = category
        self.workers = workers
        self.metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()

    def on_status(self, status: FeedStatus) -> None:
        worker = self.workers.get(status.symbol)
        if worker is None:
            return
        if status.state is FeedState.LIVE:
            if worker.feed_stale_since_ns:
                _log.info("feed live again; quoting may resume", extra={"symbol": worker.symbol})
                worker.feed_live()
            return
        if worker.feed_stale_since_ns:
            return  # already off the book for this stale period
        busy = worker.lock.locked()
        worker.feed_stale(status.ts_event_ns)
        self.metrics.stale_feed_cancels.inc()
        _log.warning(
            "feed not live; cancelling the symbol's orders",
            extra={"symbol": worker.symbol, "state": status.state.value, "reason": status.reason},
        )
        task = asyncio.create_task(
            self._cancel(worker, busy), name=f"executor-stale-{worker.symbol}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    async def _cancel(self, worker: SymbolWorker, busy: bool) -> None:
        reason = "feed not live"
        await cancel_all(self._api(), self.category, [worker.symbol], reason)
        if busy:  # a plan was being sent: what it placed may land after the first cancel
            await quiesce([worker])
            await cancel_all(self._api(), self.category, [worker.symbol], reason)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("stale-feed cancel failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

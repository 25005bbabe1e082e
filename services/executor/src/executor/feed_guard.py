"""The short path off a stale book: the executor acts on md_gateway's `md.status.*` itself.

The normal chain (gateway status -> quoter pull -> risk cancel-all target -> executor) takes three
bus hops and, when the venue's sockets dropped with the feed, waits for the private stream's
reconciliation before any worker acts. So when a symbol's feed turns not live, this guard
(1) gates the symbol's worker: it plans against an empty ladder, whatever target it holds, and
(2) asks the venue at once (REST cancel-all for the symbol, which needs no view of our orders and
no reconciliation), once more after any plan that was in flight has landed, and then, like the
watchdog's cancel-all, with backoff until the venue lists none of the symbol's orders (while the
feed stays not live). The venue's own disconnect-cancel stays the backstop.

Each order the symbol had, and each the cancel-all removed, is read back from the venue
(`/v5/order/realtime` by client id) and handed to the venue feed as if pushed: when the private
stream dropped with the feed, the cancel pushes are lost, and without this those orders' ends
would never reach EXEC (the feed publishes under the venue's state id, so a push that does arrive
is stored once).

The gate lifts on a `live` status, or on a quoting target risk derived from a book newer than the
status that closed it (so a lost `live` message cannot keep a symbol off the book). Repeated
non-live statuses (the gateway's heartbeat) cancel once per transition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from executor.commands import CANCEL_ALL_TIMEOUT_S, cancel_all_until_confirmed
from executor.flat_keeper import quiesce
from executor.metrics import ExecutorMetrics
from executor.symbol_worker import SymbolWorker
from mm_bybit import raw
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError
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
        on_orders: Callable[[list[raw.Order]], None],
        may_write: Callable[[str], bool] = lambda _symbol: True,
    ) -> None:
        self._api = api
        # Lease mode: a symbol another replica holds is that replica's to cancel; a cancel-all
        # from here would take its fresh orders too.
        self._may_write = may_write
        self._on_orders = on_orders
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
        if not self._may_write(worker.symbol):
            worker.feed_stale(status.ts_event_ns)  # still off the book should the lease come
            return
        busy = worker.lock.locked()
        known = list(worker.own_orders.orders)  # their ends are read back once all is settled
        worker.feed_stale(status.ts_event_ns)
        self.metrics.stale_feed_cancels.inc()
        _log.warning(
            "feed not live; cancelling the symbol's orders",
            extra={"symbol": worker.symbol, "state": status.state.value, "reason": status.reason},
        )
        task = asyncio.create_task(
            self._cancel(worker, busy, known), name=f"executor-stale-{worker.symbol}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    async def _cancel(self, worker: SymbolWorker, busy: bool, known: list[str]) -> None:
        symbol = worker.symbol
        cancelled = await self._cancel_all(symbol)
        # Wait for the worker's own cancels of the emptied ladder, or a plan already in flight.
        await quiesce([worker])
        if busy:  # a plan was being sent: what it placed may have landed after the first cancel
            cancelled += await self._cancel_all(symbol)
        await self._read_back(symbol, list(dict.fromkeys(known + cancelled)))
        # Fail closed: until the venue lists none of the symbol's orders (or the feed is back).
        await cancel_all_until_confirmed(
            self._api(),
            self.category,
            [symbol],
            "feed not live",
            lambda: worker.feed_stale_since_ns != 0,
        )

    async def _cancel_all(self, symbol: str) -> list[str]:
        """Cancel-all for `symbol`; the client ids it cancelled ([] when it failed, logged)."""
        try:
            acks = await asyncio.wait_for(
                self._api().cancel_all(self.category, symbol), CANCEL_ALL_TIMEOUT_S
            )
        except (BybitError, TimeoutError) as error:
            _log.warning(
                "stale-feed cancel-all failed", extra={"symbol": symbol, "error": repr(error)}
            )
            return []
        _log.info("cancelled all orders", extra={"reason": "feed not live", "symbol": symbol})
        return [ack.order_link_id for ack in acks if ack.order_link_id]

    async def _read_back(self, symbol: str, client_ids: list[str]) -> None:
        """Each cancelled order's final state from the venue, to the feed as a push."""
        for client_id in client_ids:
            try:
                order = await self._api().order(self.category, symbol, client_id)
            except BybitError as error:
                _log.info(
                    "order read-back failed",
                    extra={"client_order_id": client_id, "error": str(error)},
                )
                continue
            if order is not None:
                self._on_orders([order])

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("stale-feed cancel failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

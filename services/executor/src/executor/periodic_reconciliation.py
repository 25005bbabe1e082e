"""The periodic reconciliation: every `reconciliation_interval_s`, each symbol's orders checked
against the venue's open orders, and the outcome stored as a fact for `mm gate`.

A reconciliation otherwise runs only when the private stream (re)subscribes, so a quiet day
would hold no `exec.reconciliation.*` fact and the gate would read no data. This one runs while
the symbol is synced and ours to write, under the symbol worker's lock (no plan in flight), for
one REST query of the open orders and a comparison (`OwnOrders.compare`); the lock's hold is
`mm_executor_reconciliation_hold_seconds`. Pushes lag the REST answer by a few milliseconds (a
fill or an amend the venue listed before its push arrived), so a disagreement counts only when
it is still there `confirm_after_s` later, on the same orders: then the venue's view is adopted
(`OwnOrders.reconcile`), foreign orders are cancelled when configured, and the fact says
`mismatch` with those orders. Positions are left to the subscription's reconciliation: a
baseline taken while fills are in flight would make risk count a fill twice or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from executor.client_ids import ClientIdFactory
from executor.own_orders import ReconcileReport
from executor.symbol_worker import SymbolWorker
from executor.venue_feed import VenueFeed
from executor.venue_sync import cancel_orders, log_report, publish_result, read_open_orders
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError
from mm_proto import InstrumentDefinition

_log = logging.getLogger("executor.reconciliation")

REASON = "periodic"
CONFIRM_AFTER_S = 2.0  # far longer than a push lags its REST answer


@dataclass
class PeriodicReconciliation:
    """The loop and one pass; `may_run(symbol)` says whether the symbol may be checked now."""

    api: BybitRestApi
    instruments: Mapping[str, InstrumentDefinition]
    workers: Mapping[str, SymbolWorker]
    ids: ClientIdFactory
    feed: VenueFeed
    interval_s: float
    may_run: Callable[[str], bool]
    cancel_foreign: Callable[[str], bool]
    confirm_after_s: float = CONFIRM_AFTER_S

    async def run(self) -> None:
        """Check every symbol each `interval_s`, forever (cancel to stop)."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.once()

    async def once(self) -> None:
        """One check of every symbol that may run; a venue failure skips that symbol."""
        for symbol, instrument in self.instruments.items():
            if not self.may_run(symbol):
                continue
            try:
                report = await self.check(instrument)
            except BybitError as error:
                _log.warning(
                    "periodic reconciliation failed", extra={"symbol": symbol, "error": str(error)}
                )
                continue
            if report is not None:
                foreign = self.cancel_foreign(symbol)
                log_report(report, REASON, foreign, self.feed.metrics)
                await publish_result(report, instrument, REASON, self.feed)

    async def check(self, instrument: InstrumentDefinition) -> ReconcileReport | None:
        """The symbol's outcome: what differed twice, `confirm_after_s` apart (empty: clean);
        None when the symbol stopped being ours to check meanwhile."""
        worker = self.workers[instrument.symbol]
        first = await self._compare(worker, instrument)
        if not _differs(first):
            return first
        await asyncio.sleep(self.confirm_after_s)
        if not self.may_run(instrument.symbol):
            return None
        return await self._confirm(worker, instrument, first)

    async def _compare(
        self, worker: SymbolWorker, instrument: InstrumentDefinition
    ) -> ReconcileReport:
        async with self._held(worker):
            venue_orders = await read_open_orders(self.api, instrument, self.feed.metrics)
            return worker.own_orders.compare(venue_orders, self.ids.is_own)

    async def _confirm(
        self, worker: SymbolWorker, instrument: InstrumentDefinition, first: ReconcileReport
    ) -> ReconcileReport:
        """Compare again; adopt the venue's view where the same orders still disagree."""
        async with self._held(worker):
            venue_orders = await read_open_orders(self.api, instrument, self.feed.metrics)
            second = worker.own_orders.compare(venue_orders, self.ids.is_own)
            lasting = _common(first, second)
            if not _differs(lasting):
                return lasting
            # Same snapshot, no await since `compare`: it changes exactly what `lasting` names
            # (and settles what only one snapshot showed, as every reconciliation does).
            worker.own_orders.reconcile(venue_orders, time.monotonic(), self.ids.is_own)
            if self.cancel_foreign(instrument.symbol):
                await cancel_orders(self.api, instrument, lasting.foreign)
        worker.wake()  # plan against the corrected view
        return lasting

    @contextlib.asynccontextmanager
    async def _held(self, worker: SymbolWorker) -> AsyncIterator[None]:
        async with worker.lock:
            started = time.perf_counter()
            try:
                yield
            finally:
                self.feed.metrics.reconciliation_hold.observe(time.perf_counter() - started)


def _differs(report: ReconcileReport) -> bool:
    return bool(report.adopted or report.corrected or report.removed or report.foreign)


def _common(first: ReconcileReport, second: ReconcileReport) -> ReconcileReport:
    """The disagreements both reports name, by order id and kind."""
    foreign_ids = {order.venue_order_id for order in first.foreign}
    return ReconcileReport(
        first.symbol,
        adopted=[key for key in second.adopted if key in first.adopted],
        corrected=[key for key in second.corrected if key in first.corrected],
        removed=[key for key in second.removed if key in first.removed],
        foreign=[order for order in second.foreign if order.venue_order_id in foreign_ids],
    )

"""The executor's periodic upkeep: a reconciliation the venue still owes, orders whose state
stayed unknown (asked of the venue by id), and the open-order and rate-headroom gauges."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from executor.metrics import ExecutorMetrics
from executor.symbol_worker import SymbolWorker
from mm_bybit.api import BybitRestApi
from mm_bybit.rest import RestClient

HOUSEKEEPING_INTERVAL_S = 0.25


class Housekeeping:
    """One pass every `HOUSEKEEPING_INTERVAL_S`; the loop keeps no state of its own."""

    def __init__(
        self,
        api: BybitRestApi,
        rest: RestClient,
        workers: Mapping[str, SymbolWorker],
        metrics: ExecutorMetrics,
        unconfirmed_query_after_s: float,
        retry_resync: Callable[[], None],
    ) -> None:
        self._api = api
        self._rest = rest
        self._workers = workers
        self._metrics = metrics
        self._unconfirmed_after_s = unconfirmed_query_after_s
        self._retry_resync = retry_resync

    async def run(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            await self.once(time.monotonic())

    async def once(self, now: float) -> None:
        self._retry_resync()
        for worker in self._workers.values():
            await worker.settle_unconfirmed(self._api, now - self._unconfirmed_after_s)
            self._metrics.open_orders.labels(worker.symbol).set(len(worker.own_orders.orders))
        for endpoint, ratio in self._rest.budget.headroom().items():
            self._metrics.rate_headroom.labels(endpoint).set(ratio)

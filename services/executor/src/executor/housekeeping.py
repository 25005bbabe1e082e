"""The executor's periodic upkeep: a reconciliation the venue still owes, orders whose state
stayed unknown (asked of the venue by id), and the open-order and rate-headroom gauges."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from executor.metrics import ExecutorMetrics
from executor.symbol_worker import SymbolWorker
from mm_bybit.api import BybitRestApi
from mm_bybit.rest import RestClient

HOUSEKEEPING_INTERVAL_S = 0.25


@dataclass
class Housekeeping:
    """One pass every `HOUSEKEEPING_INTERVAL_S`; the loop keeps no state of its own."""

    api: BybitRestApi
    rest: RestClient
    workers: Mapping[str, SymbolWorker]
    metrics: ExecutorMetrics
    unconfirmed_query_after_s: float
    retry_resync: Callable[[], None]

    async def run(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            await self.once(time.monotonic())

    async def once(self, now: float) -> None:
        self.retry_resync()
        for worker in self.workers.values():
            await worker.settle_unconfirmed(self.api, now - self.unconfirmed_query_after_s)
            self.metrics.open_orders.labels(worker.symbol).set(len(worker.own_orders.orders))
        for endpoint, ratio in self.rest.budget.headroom().items():
            self.metrics.rate_headroom.labels(endpoint).set(ratio)

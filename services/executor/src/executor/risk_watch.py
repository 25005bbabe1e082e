"""The executor's watch on risk: risk's heartbeats and targets keep the watchdog fed, and a fast
timer trips it when risk falls silent, which cancels every order until risk speaks again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from executor.flat_keeper import FlatKeeper
from executor.metrics import ExecutorMetrics
from executor.symbol_worker import SymbolWorker
from executor.watchdog import Watchdog

_log = logging.getLogger("executor")

WATCHDOG_TICK_S = 0.05


@dataclass
class RiskWatch:
    """Feeds the watchdog and runs its timer (a tenth of its timeout, at most 0.05 s apart)."""

    watchdog: Watchdog
    workers: Mapping[str, SymbolWorker]
    flat: FlatKeeper
    metrics: ExecutorMetrics

    def beat(self) -> None:
        """Risk spoke (a heartbeat or a target); clearing a trip lets the workers act again."""
        if self.watchdog.beat(time.monotonic()):
            _log.info("risk heartbeat back; acting on targets again")
            for worker in self.workers.values():
                worker.wake()

    async def run(self) -> None:
        """Trip once per silence longer than the timeout, and keep the account flat."""
        watchdog = self.watchdog
        while True:
            await asyncio.sleep(min(WATCHDOG_TICK_S, watchdog.timeout_s / 10))
            now = time.monotonic()
            if watchdog.check(now):
                self.metrics.watchdog_trips.inc()
                _log.warning(
                    "risk silent; cancelling every order",
                    extra={"silence_s": round(watchdog.silence_s(now), 3)},
                )
                self.flat.start("watchdog")

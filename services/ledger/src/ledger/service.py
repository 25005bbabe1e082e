"""The ledger's wiring: book tops, EXEC facts and risk events in; KPI snapshots and metrics out.

The economics are the core's (`ledger.core`); this module feeds it and, every
`snapshot_interval_s` of wall time, flushes it, stores the snapshots on stream KPI, acks the EXEC
messages they include and refreshes the metrics. A flush that cannot be stored is kept and retried
with the next one (same message ids), and its EXEC messages stay unacked until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from nats.aio.msg import Msg
from opentelemetry.context import Context

from ledger import kpi_store
from ledger.core import Ledger
from ledger.exec_feed import ExecFeed
from ledger.instruments import wait_for_instruments
from ledger.metrics import LedgerMetrics
from ledger.publish_metrics import refresh_metrics
from ledger.settings import LedgerSettings
from ledger.status import dispatcher
from mm_proto import BookTop, KpiSnapshot, RiskEvent, subjects
from mm_runtime.control import ControlServer
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve

_log = logging.getLogger("ledger.service")
SERVICE = "ledger"
RECENT_SNAPSHOTS = 50_000  # what the markout metrics are computed over


class LedgerService:
    """The ledger on the runtime."""

    name = SERVICE

    def __init__(self, settings: LedgerSettings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.markout_horizons_s)
        self.recent: deque[KpiSnapshot] = deque(maxlen=RECENT_SNAPSHOTS)
        self._unstored: list[KpiSnapshot] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._last_flush_error = ""
        self._window_start = time.time_ns()

    async def start(self, runtime: Runtime) -> None:
        try:
            await self._start(runtime)
        except BaseException:
            await runtime.bus.drain()
            raise

    async def _start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.metrics = LedgerMetrics(runtime.registry)
        settings = self.settings
        self.js = runtime.bus.client.jetstream()
        await ensure_layout(self.js)
        for instrument in await wait_for_instruments(runtime.bus, self.js, settings):
            self.ledger.add_instrument(instrument)
        restored = await kpi_store.latest_flush(
            self.js, settings.venue, settings.category, settings.restore_scan_limit
        )
        self.ledger.restore(restored)
        _log.info(
            "books opened",
            extra={"restored_rows": len(restored), "exec_sequence": self.ledger.exec_sequence},
        )
        self.feed = ExecFeed(self.js, settings, self.ledger, self.metrics)
        await self.feed.bind()
        bus = runtime.bus
        venue, category = settings.venue, settings.category
        await bus.subscribe(subjects.book_pattern(venue, category), BookTop, self.on_book)
        await bus.subscribe(
            subjects.risk_event_pattern(venue, category), RiskEvent, self.on_risk_event
        )
        await ControlServer.of(SERVICE, dispatcher(self.ledger)).start(bus.client)
        await bus.client.flush()
        self._tasks = [
            asyncio.create_task(self.feed.run(self._stop), name="ledger-exec-feed"),
            asyncio.create_task(self._flush_loop(), name="ledger-flush"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._task_ended)
        self._started = True

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        if self._stop.is_set() or task.cancelled():
            return
        error = task.exception()
        _log.error("background task ended", extra={"task": task.get_name(), "error": str(error)})
        self._started = False  # readiness false: the ledger can no longer keep its books

    async def on_book(self, top: BookTop, _context: Context, _msg: Msg) -> None:
        if top.symbol in self.ledger.books:
            self.ledger.on_top(top)

    async def on_risk_event(self, event: RiskEvent, _context: Context, _msg: Msg) -> None:
        self.metrics.risk_events.labels(
            event.symbol or subjects.PORTFOLIO_SYMBOL, event.check, event.outcome
        ).inc()

    async def _flush_loop(self) -> None:
        interval_ns = int(self.settings.snapshot_interval_s * 1e9)
        self._window_start = time.time_ns() // interval_ns * interval_ns
        while not self._stop.is_set():
            window_start = self._window_start
            window_end = window_start + interval_ns
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), max(0.0, (window_end - time.time_ns()) / 1e9)
                )
            if self._stop.is_set():
                return  # stop() flushes the partial window
            await self.flush(window_start, window_end)
            self._window_start = window_end

    async def flush(self, window_start: int, window_end: int) -> None:
        """Close the window, store it (with any earlier unstored one), then ack what it holds."""
        self._unstored.extend(self.ledger.flush(window_start, window_end))
        held = self.feed.take_held()
        try:
            await kpi_store.store(self.js, self._unstored)
        except Exception as error:
            self.metrics.snapshots.labels("failed").inc()
            self._last_flush_error = str(error)
            _log.error(
                "KPI snapshots not stored; retrying next window", extra={"error": str(error)}
            )
            self.feed.hold_again(held)
            return
        self.metrics.snapshots.labels("stored").inc(len(self._unstored))
        self.recent.extend(self._unstored)
        refresh_metrics(self.metrics, self.ledger, self._unstored, self.recent)
        self._unstored = []
        self._last_flush_error = ""
        await ExecFeed.ack(held)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._started:
            await self.flush(self._window_start, time.time_ns())
        await self.feed.close()

    def readiness(self) -> tuple[bool, str]:
        if not self._started:
            return False, "starting or a background task ended"
        if self._last_flush_error:
            return True, f"KPI snapshots not stored: {self._last_flush_error[:120]}"
        return True, "ok"


async def run(
    settings: LedgerSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the ledger until `stop` is set (or a signal arrives)."""
    await serve(LedgerService(settings), settings, stop, ready)

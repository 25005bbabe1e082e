"""The ledger's wiring: marks, EXEC facts and risk events in; KPI snapshots and metrics out.

The economics are the core's (`ledger.core`); `ledger.input_feed` feeds it from streams MARKS and
EXEC, and this module, every `snapshot_interval_s` of wall time, flushes it, stores the snapshots
(with the resume state) on stream KPI, acks the messages they include and refreshes the metrics.
A flush that cannot be stored is kept and retried with the next one (same message ids), and its
messages stay unacked until then. No flush is taken while a restart's replay is still below what
the restored flush had seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import nats.errors
from nats.aio.msg import Msg
from opentelemetry.context import Context

from ledger import kpi_store, weekly_file
from ledger.core import Ledger
from ledger.input_feed import InputFeed
from ledger.merge import FACT, MARK
from ledger.metrics import LedgerMetrics
from ledger.publish_metrics import refresh_metrics
from ledger.settings import LedgerSettings
from ledger.status import dispatcher
from mm_proto import KpiSnapshot, RiskEvent, subjects
from mm_runtime.control import ControlServer
from mm_runtime.instruments import wait_for_definitions
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.tasks import OnEnd

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
        self._started = False
        self._last_flush_error = ""
        self._window_start = time.time_ns()

    async def start(self, runtime: Runtime) -> None:
        """(If this raises, `mm_runtime.lifecycle` closes the bus connection.)"""
        self.runtime = runtime
        self.metrics = LedgerMetrics(runtime.registry)
        settings = self.settings
        self.js = runtime.bus.client.jetstream()
        await ensure_layout(self.js, settings.nats.replicas)
        self._kpi = await kpi_store.KpiWriter.open(runtime.bus.client)
        definitions = await wait_for_definitions(
            runtime, settings.venue, settings.category, settings.symbols, settings.instrument_wait_s
        )
        for instrument in definitions.values():
            self.ledger.add_instrument(instrument)
        restored = await kpi_store.latest_flush(
            self.js, settings.venue, settings.category, settings.restore_scan_limit
        )
        cuts = self.ledger.restore(restored)
        _log.info(
            "books opened",
            extra={
                "restored_rows": len(restored),
                "exec_restart": cuts.exec_cut.restart,
                "marks_restart": cuts.marks_cut.restart,
            },
        )
        self.feed = InputFeed(runtime.bus, settings, self.ledger, self.metrics, cuts)
        await self.feed.bind()
        bus = runtime.bus
        venue, category = settings.venue, settings.category
        await bus.subscribe(
            subjects.risk_event_pattern(venue, category), RiskEvent, self.on_risk_event
        )
        await ControlServer.of(SERVICE, dispatcher(self.ledger, self._merge_status)).start(
            bus.client
        )
        interval_ns = int(settings.snapshot_interval_s * 1e9)
        self._window_start = time.time_ns() // interval_ns * interval_ns
        # Supervised (mm_runtime.tasks). The merge holds what was taken but not yet flushed, which
        # a restarted coroutine could not rebuild, so an unexpected end exits the process and a
        # fresh ledger resumes from its last stored flush.
        tasks = runtime.tasks
        tasks.spawn("ledger-exec-feed", lambda: self.feed.run(FACT, self._stop), OnEnd.EXIT)
        tasks.spawn("ledger-marks-feed", lambda: self.feed.run(MARK, self._stop), OnEnd.EXIT)
        tasks.spawn("ledger-flush", self._flush_loop, OnEnd.EXIT)
        if settings.weekly_dir is not None:
            tasks.spawn("ledger-weekly", self._weekly_loop, OnEnd.RESTART)
        self._started = True

    async def on_risk_event(self, event: RiskEvent, _context: Context, _msg: Msg) -> None:
        self.metrics.risk_events.labels(
            event.symbol or subjects.PORTFOLIO_SYMBOL, event.check, event.outcome
        ).inc()

    async def _flush_loop(self) -> None:
        interval_ns = int(self.settings.snapshot_interval_s * 1e9)
        window_end = self._window_start
        while not self._stop.is_set():
            window_start = self._window_start
            window_end += interval_ns
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), max(0.0, (window_end - time.time_ns()) / 1e9)
                )
            if self._stop.is_set():
                return  # stop() flushes the partial window
            if await self.flush(window_start, window_end):
                self._window_start = window_end

    async def _weekly_loop(self) -> None:
        """The last completed week's file, at start and every `CHECK_EVERY_S`; a failure is
        logged and counted, and tried again at the next check."""
        assert self.settings.weekly_dir is not None
        while not self._stop.is_set():
            try:
                if await weekly_file.write_due(self.js, self.settings.weekly_dir, time.time_ns()):
                    self.metrics.weekly_files.labels("written").inc()
            except (OSError, nats.errors.Error) as error:
                self.metrics.weekly_files.labels("failed").inc()
                _log.error("weekly file not written", extra={"error": str(error)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), weekly_file.CHECK_EVERY_S)

    async def flush(self, window_start: int, window_end: int) -> bool:
        """Close the window, store it (with any earlier unstored one), then ack what it holds."""
        self._refresh_feed_metrics()
        if self.feed.merge.replaying():
            _log.info("replaying what the restored flush had seen; no flush yet")
            return False
        held, cuts = self.feed.take_held()  # no await between: the cut is the flush's
        self._unstored.extend(self.ledger.flush(window_start, window_end, cuts))
        try:
            await self._kpi.store(self._unstored)
        except Exception as error:
            self.metrics.snapshots.labels("failed").inc()
            self._last_flush_error = str(error)
            _log.error(
                "KPI snapshots not stored; retrying next window", extra={"error": str(error)}
            )
            self.feed.hold_again(held)
            return True  # the window is closed; its rows go out with the next flush
        self.metrics.snapshots.labels("stored").inc(len(self._unstored))
        self.recent.extend(self._unstored)
        refresh_metrics(self.metrics, self.ledger, self._unstored, self.recent)
        self._unstored = []
        self._last_flush_error = ""
        await InputFeed.ack(held)
        return True

    def _merge_status(self) -> dict[str, str]:
        merge = self.feed.merge
        return {"held_facts": str(merge.held_facts()), "late_inputs": str(merge.late)}

    def _refresh_feed_metrics(self) -> None:
        pending = self.metrics.consumer_pending
        pending.labels(subjects.EXEC_STREAM).set(self.feed.pending[FACT])
        pending.labels(subjects.MARKS_STREAM).set(self.feed.pending[MARK])
        self.metrics.held_inputs.set(self.feed.merge.held())

    async def stop(self) -> None:
        """End the feeds and the timer, then flush the partial window and close the feeds."""
        self._stop.set()
        for name in ("ledger-exec-feed", "ledger-marks-feed", "ledger-flush"):
            await self.runtime.tasks.cancel(name)
        if self._started:
            await self.flush(self._window_start, time.time_ns())
        await self.feed.close()

    def readiness(self) -> tuple[bool, str]:
        if not self._started:
            return False, "starting"
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

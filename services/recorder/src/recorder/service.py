"""The recorder's wiring: the venue's public stream (and chosen bus subjects) into hourly files.

It connects to the venue with mm_bybit's `PublicStream`, the client md_gateway uses, so it keeps
what the venue sent rather than what we made of it. Each frame is routed (`routing.Router`) and
queued in the `HourlyWriter`; a supervised flush task appends the queued lines every
`flush_interval_s` and closes files whose hour has passed, a supervised budget task keeps the
directory within `budget_bytes`. A disconnect writes a gap line in every symbol's file; a book
delta that does not follow its topic's `u` writes one and resubscribes the topic (a fresh
snapshot follows). Undecodable frames are kept raw under `_unrouted` and counted. On stop the
stream closes first, then every file is flushed, fsynced and closed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.aio.msg import Msg

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import Connected, ConnectionEvent, Disconnected
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_proto import CtlReply, Message
from mm_runtime.control import ControlServer
from mm_runtime.lifecycle import Runtime, serve
from recorder import budget, status
from recorder.lines import Kind
from recorder.metrics import RecorderMetrics
from recorder.routing import Routed, Router
from recorder.settings import RecorderSettings
from recorder.writer import HourlyWriter

_log = logging.getLogger("recorder")


class RecorderService:
    """One venue connection's frames, and the chosen bus subjects, into one directory."""

    name = "recorder"

    def __init__(self, settings: RecorderSettings) -> None:
        self._settings = settings
        venue = settings.venue
        self.router = Router(venue.name, venue.category, settings.venue_topics)
        self.writer = HourlyWriter(
            settings.dir,
            level=settings.compression_level,
            max_pending_bytes=settings.max_pending_bytes,
        )
        self.stream: PublicStream | None = None
        self._metrics: RecorderMetrics | None = None
        self._counts: status.CountSync | None = None
        self._runtime: Runtime | None = None
        self._resync: set[str] = set()
        self._resync_wake = asyncio.Event()
        self._connected_once = False
        self._oldest_pending_ns = 0
        self._last_sweep: budget.Sweep | None = None

    @property
    def metrics(self) -> RecorderMetrics:
        if self._metrics is None:
            raise RuntimeError("recorder metrics exist once the service has started")
        return self._metrics

    async def start(self, runtime: Runtime) -> None:
        settings = self._settings
        self._runtime = runtime
        self._metrics = RecorderMetrics(runtime.registry)
        self._counts = status.CountSync(self._metrics)
        settings.dir.mkdir(parents=True, exist_ok=True)
        started = self.writer.stamp(time.time_ns())
        for routed in self.router.started(started):
            self._queue(routed, started)
        self.metrics.gaps.labels("start").inc()
        self.stream = self._open_stream()
        runtime.tasks.spawn("recorder-public-ws", self.stream.connection.supervised)
        runtime.tasks.spawn("recorder-flush", self._flush_loop)
        runtime.tasks.spawn("recorder-budget", self._budget_loop)
        runtime.tasks.spawn("recorder-resync", self._resync_loop)
        for pattern in settings.bus_subjects:
            await runtime.bus.client.subscribe(pattern, cb=self._on_bus_message)
        await ControlServer.of(self.name, self._on_control).start(runtime.bus.client)
        _log.info(
            "recorder started",
            extra={
                "dir": str(settings.dir),
                "topics": len(settings.venue_topics),
                "bus_subjects": settings.bus_subjects,
                "url": settings.venue.public_ws_url,
            },
        )

    def _open_stream(self) -> PublicStream:
        venue = self._settings.venue
        return PublicStream(
            venue.public_ws_url,
            self._on_frame,
            topics=self._settings.venue_topics.keys(),
            on_state=self._on_state,
            backoff=Backoff(base_s=venue.reconnect_base_s, cap_s=venue.reconnect_cap_s),
            ping_interval_s=venue.ping_interval_s,
            pong_timeout_s=venue.pong_timeout_s,
            name="recorder-public",
            on_undecodable=self._on_undecodable,
        )

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        if self._runtime is not None:
            for task in ("recorder-flush", "recorder-budget", "recorder-resync"):
                await self._runtime.tasks.cancel(task)
        self.writer.close()
        self._sync_counts()

    def readiness(self) -> tuple[bool, str]:
        if self.stream is None or not self.stream.connection.connected:
            return False, "venue public stream not connected"
        if self._last_sweep is not None and self._last_sweep.over:
            return True, "recording; over the disk budget with only open files left"
        return True, f"recording {len(self._settings.venue_topics)} topics"

    def _on_frame(self, frame: PublicFrame) -> None:
        ts = self.writer.stamp(frame.ts_received_ns)
        routed = self.router.venue_frame(ts, frame.topic, frame.payload)
        if routed.gap:
            self.metrics.gaps.labels("sequence").inc()
            _log.warning("sequence gap; resubscribing", extra={"gap": routed.gap})
            self._resync.add(routed.resync_topic)
            self._resync_wake.set()
        self._queue(routed, ts)

    def _on_undecodable(self, payload: bytes, received_ns: int) -> None:
        ts = self.writer.stamp(received_ns)
        self._queue(self.router.undecodable(ts, payload), ts)

    async def _on_bus_message(self, message: Msg) -> None:
        ts = self.writer.stamp(time.time_ns())
        self._queue(self.router.bus_message(ts, message.subject, message.data), ts)

    def _queue(self, routed: Routed, ts: int) -> None:
        if routed.key == self.router.unrouted and routed.kind is not Kind.MALFORMED:
            self.metrics.unrouted.inc()
        self.metrics.frames.labels(routed.kind.value).inc()
        if not self._oldest_pending_ns:
            self._oldest_pending_ns = ts
        self.writer.add(routed.key, ts, routed.line)

    def _on_state(self, event: ConnectionEvent) -> None:
        if isinstance(event, Connected):
            if self._connected_once:
                self.metrics.reconnects.inc()
            self._connected_once = True
        elif isinstance(event, Disconnected):
            self.metrics.gaps.labels("disconnect").inc()
            self._resync.clear()  # a reconnect subscribes every topic afresh
            for routed in self.router.disconnected(time.time_ns(), event.reason):
                self._queue(routed, self.writer.stamp(time.time_ns()))
            _log.warning("venue disconnected; gap recorded", extra={"reason": event.reason})

    async def _flush_loop(self) -> None:
        interval = self._settings.flush_interval_s
        while True:
            await asyncio.sleep(interval)
            self.flush()

    def flush(self) -> None:
        """Append what is pending (and close files of past hours)."""
        oldest = self._oldest_pending_ns
        self._oldest_pending_ns = 0
        self.writer.close_before(time.time_ns())
        self.writer.flush()
        if oldest:
            self.metrics.lag_seconds.observe(max(0, time.time_ns() - oldest) / 1e9)
        self._sync_counts()

    def _sync_counts(self) -> None:
        if self._counts is not None:
            self._counts.sync(self.writer.counts, self.writer.pending_bytes)

    async def _budget_loop(self) -> None:
        settings = self._settings
        while True:
            sweep = await asyncio.to_thread(
                budget.enforce, settings.dir, settings.budget_bytes, self.writer.open_paths
            )
            self._last_sweep = sweep
            self.metrics.disk_bytes.set(sweep.size_bytes)
            self.metrics.deleted_files.inc(len(sweep.deleted))
            self.metrics.over_budget.set(int(sweep.over))
            await asyncio.sleep(settings.budget_interval_s)

    async def _resync_loop(self) -> None:
        while True:
            await self._resync_wake.wait()
            self._resync_wake.clear()
            topics, self._resync = sorted(self._resync), set()
            stream = self.stream
            if stream is None or not topics or not stream.connection.connected:
                continue
            try:
                try:
                    await stream.unsubscribe(topics)
                finally:
                    # Also when the unsubscribe failed: the stream forgets unsubscribed topics,
                    # and subscribe keeps them for the next connect even if it cannot send now.
                    await stream.subscribe(topics)
            except (ConnectionError, TimeoutError) as error:
                _log.warning("resubscribe failed", extra={"topics": topics, "error": str(error)})

    async def _on_control(self, request: Message) -> CtlReply:
        return status.answer(request, self.writer, self._last_sweep)


async def run(
    settings: RecorderSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the recorder until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
    await serve(RecorderService(settings), settings, stop, ready)

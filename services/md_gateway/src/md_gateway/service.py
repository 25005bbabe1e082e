"""md_gateway's wiring: the venue's public stream in, books, trades and feed status onto NATS.

Start-up order: instruments from the venue (tick and lot sizes), then the books and their initial
"stale, waiting for the first snapshot" status, then the public stream. Frames arrive on the
stream's callback and are routed by topic: book frames go to `SymbolBook.apply` (parsed in Rust),
trades to mm_bybit's parser. A gap, a refused frame or a lost connection makes the symbol stale at
once; the resync task resubscribes the topic so the next message is a fresh snapshot, which makes
it live again. A watch task turns silent books stale, retries resyncs that did not complete,
publishes the status heartbeat, and has the venue's instrument definitions read again (a status
change at the venue is stored and published; see `md_gateway.instruments`).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from collections.abc import Callable

from md_gateway import control
from md_gateway.feed_state import StatusChange, SymbolFeed
from md_gateway.frame_inbox import FrameInbox
from md_gateway.instruments import InstrumentRefresh, load_definitions
from md_gateway.metrics import GatewayMetrics
from md_gateway.outbox import Outbox
from md_gateway.publishing import GatewayPublisher
from md_gateway.resync import Resyncer
from md_gateway.settings import GatewaySettings
from md_gateway.symbol_book import SymbolBook
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import (
    Connected,
    ConnectionEvent,
    Disconnected,
    Subscribed,
    SubscriptionRejected,
)
from mm_bybit.convert import ConversionError, trades_from_message
from mm_bybit.ws_public import PublicFrame, PublicStream, trade_topic
from mm_proto import (
    CtlReply,
    FeedState,
    InstrumentDefinition,
    Message,
    subjects,
)
from mm_runtime.control import ControlServer
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.logs import RateLimitedLog
from mm_runtime.loop_metrics import CounterChild, HistogramChild

_log = logging.getLogger("md_gateway")


class GatewayService:
    """One replica's books and the public stream that feeds them."""

    name = "md_gateway"

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self.symbols = settings.owned_symbols
        self.instruments: dict[str, InstrumentDefinition] = {}
        self.books: dict[str, SymbolBook] = {}
        self._routes: dict[str, Callable[[PublicFrame], None]] = {}
        self._books_by_topic: dict[str, SymbolBook] = {}
        self._trade_subjects: dict[str, str] = {}
        self._resyncer = Resyncer(self.books, self._on_change)
        self._runtime: Runtime | None = None
        self._refresh: InstrumentRefresh | None = None
        self._connected_once = False
        self._seen_undecodable = 0
        self._seen_handler_errors = 0
        self._bad_frame_log = RateLimitedLog(_log)
        self.stream: PublicStream | None = None
        self._metrics: GatewayMetrics | None = None
        self._outbox: Outbox | None = None
        self._publisher: GatewayPublisher | None = None
        self._inbox: FrameInbox | None = None
        # The per-frame metrics' children, held so a book frame costs no label or child look-up.
        self._frames_book: CounterChild | None = None
        self._apply_seconds: HistogramChild | None = None

    @property
    def metrics(self) -> GatewayMetrics:
        if self._metrics is None:
            raise RuntimeError("md_gateway metrics exist once the service has started")
        return self._metrics

    @property
    def publisher(self) -> GatewayPublisher:
        if self._publisher is None:
            raise RuntimeError("md_gateway publishes once the service has started")
        return self._publisher

    def _wire(self, runtime: Runtime) -> tuple[Outbox, FrameInbox]:
        self._metrics = GatewayMetrics(runtime.registry)
        self._frames_book = self._metrics.frames_book
        self._apply_seconds = self._metrics.apply_seconds.labels()
        outbox = Outbox(
            runtime.bus.client, self.metrics.publish_lag_seconds, self.metrics.publish_failures
        )
        self._publisher = GatewayPublisher(
            outbox,
            runtime.telemetry.tracer,
            runtime.metrics.published,
            self.name,
            self._settings.tick_trace_interval,
        )
        self._outbox = outbox
        self._inbox = FrameInbox(self._on_frame, self.metrics.handler_errors)
        return outbox, self._inbox

    async def start(self, runtime: Runtime) -> None:
        settings = self._settings
        outbox, inbox = self._wire(runtime)
        self.instruments = await load_definitions(
            settings.venue.rest_url,
            settings.venue.category,
            self.symbols,
            settings.venue.start_timeout_s,
        )
        self._build_books()
        js = runtime.bus.client.jetstream()
        await ensure_layout(js, settings.nats.replicas)
        self._refresh = InstrumentRefresh(
            settings.venue.rest_url,
            self.instruments,
            functools.partial(store_instrument, js),
            self.publisher.instrument,
            self.metrics.instrument_reads,
            timeout_s=min(settings.venue.start_timeout_s, settings.instrument_interval_s),
        )
        for definition in self.instruments.values():
            await store_instrument(js, definition)  # services starting later have them at once
        outbox.start(runtime.tasks)
        self._publish_instruments()
        self._publish_statuses()
        self.stream = self._open_stream(inbox.put)
        runtime.tasks.spawn("md_gateway-public-ws", self.stream.connection.supervised)
        inbox.start(runtime.tasks)
        control_server = ControlServer.of(self.name, self._on_control)
        await control_server.start(runtime.bus.client)
        self._resyncer.start(self.stream, runtime.tasks)
        # Supervised (mm_runtime.tasks) like the frame handler, sender and resyncer: each keeps
        # its state outside the coroutine, so a restart picks up where the last one stopped.
        runtime.tasks.spawn("md_gateway-watch", self._watch_loop)
        self._runtime = runtime
        # Everything built so far lives as long as the process: keep it out of the collector's
        # scans so that collections triggered by per-frame garbage stay short.
        gc.collect()
        gc.freeze()
        url = settings.venue.public_ws_url
        extra = {"symbols": len(self.symbols), "shard": settings.shard, "url": url}
        _log.info("gateway started", extra=extra)

    def _build_books(self) -> None:
        settings = self._settings
        now = time.monotonic()
        for symbol in self.symbols:
            feed = SymbolFeed(symbol, settings.stale_after_s, settings.resync_timeout_s, now)
            book = SymbolBook(
                self.instruments[symbol],
                feed,
                settings.depth,
                settings.top_levels,
                settings.depth_interval_s,
            )
            self.books[symbol] = book
            self._books_by_topic[book.topic] = book
            self._routes[book.topic] = functools.partial(self._on_book_frame, book)
            if settings.trades:
                self._routes[trade_topic(symbol)] = self._on_trade_frame
                self._trade_subjects[symbol] = subjects.trade(book.venue, book.category, symbol)
        self.metrics.symbols.set(len(self.books))

    def _open_stream(self, on_frame: Callable[[PublicFrame], None]) -> PublicStream:
        venue = self._settings.venue
        return PublicStream(
            venue.public_ws_url,
            on_frame,
            topics=self._routes.keys(),
            on_state=self._on_state,
            backoff=Backoff(base_s=venue.reconnect_base_s, cap_s=venue.reconnect_cap_s),
            ping_interval_s=venue.ping_interval_s,
            pong_timeout_s=venue.pong_timeout_s,
            name="md_gateway-public",
        )

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.close()
        if self._inbox is not None:
            await self._inbox.close()
        await self._resyncer.close()
        if self._runtime is not None:
            await self._runtime.tasks.cancel("md_gateway-watch")
        if self._refresh is not None:
            await self._refresh.stop()
        if self._outbox is not None:
            await self._outbox.close()

    def readiness(self) -> tuple[bool, str]:
        if self.stream is None or not self.stream.connection.connected:
            return False, "venue public stream not connected"
        live = sum(1 for book in self.books.values() if book.feed.live)
        return True, f"{live} of {len(self.books)} symbols live"

    def _on_frame(self, frame: PublicFrame) -> None:
        route = self._routes.get(frame.topic)
        if route is None:
            self.metrics.frames_other.inc()
            return
        route(frame)

    def _on_book_frame(self, book: SymbolBook, frame: PublicFrame) -> None:
        frames_book = self._frames_book
        apply_seconds = self._apply_seconds
        publisher = self._publisher
        if frames_book is None or apply_seconds is None or publisher is None:
            raise RuntimeError("md_gateway handles frames once the service has started")
        frames_book.inc()
        # One clock for the feed's time and the apply's duration (perf_counter is this clock
        # too on Linux): the apply histogram needs no finer resolution than it gives.
        started = time.monotonic()
        result = book.apply(frame.payload, started)
        apply_seconds.observe(time.monotonic() - started)
        if result.change is not None:
            self._on_change(book, result.change, result.kind)
        if result.publishable:
            if result.kind == "reset" and result.change is None and result.update_id == 1:
                # u == 1 while live: the venue restarted its book; the frame is the new book.
                # (Other snapshots while live are routine: depth 1 sends nothing else.)
                self.metrics.resyncs.labels("venue_restart").inc()
            publisher.book(book, result.update_id, frame.ts_received_ns)
        elif result.kind == "gap" and result.change is not None:
            self.metrics.gaps.inc()
        elif result.kind == "stale":
            self.metrics.duplicates.inc()
        elif result.kind == "refused":
            self._count_bad_frame("book", frame, result.error)

    def _on_trade_frame(self, frame: PublicFrame) -> None:
        self.metrics.frames_trade.inc()
        try:
            trades = trades_from_message(frame.payload, self.instruments, frame.ts_received_ns)
        except ConversionError as error:
            self._count_bad_frame("trade", frame, str(error))
            return
        for trade in trades:
            subject = self._trade_subjects.get(trade.symbol)
            if subject is None:
                self._count_bad_frame("trade", frame, f"trade for unowned {trade.symbol!r}")
                continue
            self.publisher.trade(subject, trade)

    def _count_bad_frame(self, kind: str, frame: PublicFrame, error: str) -> None:
        self.metrics.bad_frames.labels(kind).inc()
        self._bad_frame_log.warning(
            f"{kind}:{frame.topic}",
            "dropped bad frame",
            kind=kind,
            topic=frame.topic,
            error=error[:300],
            frame=frame.payload[:200].decode("utf-8", "replace"),
        )

    def _on_change(self, book: SymbolBook, change: StatusChange, cause: str) -> None:
        self._publish_status(book)
        if change.resync:
            self.metrics.resyncs.labels(cause).inc()
            self._resyncer.request(book.symbol)
        log = _log.warning if change.state is FeedState.STALE else _log.info
        log(
            "feed status",
            extra={"symbol": book.symbol, "state": change.state.value, "reason": change.reason},
        )

    async def _on_control(self, request: Message) -> CtlReply:
        return control.answer(request, self.books)

    def _on_state(self, event: ConnectionEvent) -> None:
        now = time.monotonic()
        if isinstance(event, Connected):
            if self._connected_once:
                self.metrics.reconnects.inc()
            self._connected_once = True
        elif isinstance(event, Disconnected):
            # Frames still queued came before the loss; a queued snapshot among them must not
            # make a symbol live while the connection is down. Every topic resubscribes anyway.
            if self._inbox is not None:
                self._inbox.discard()
            for book in self.books.values():
                change = book.feed.invalidate(f"disconnected: {event.reason}", now, resync=False)
                if change is not None:
                    self._on_change(book, change, "disconnect")
        elif isinstance(event, Subscribed):
            for topic in event.topics:
                subscribed = self._books_by_topic.get(topic)
                if subscribed is None:
                    continue
                change = subscribed.feed.on_resync_started(now)
                if change is not None:
                    self._on_change(subscribed, change, "subscribed")
        elif isinstance(event, SubscriptionRejected):
            _log.error(
                "subscription refused by the venue",
                extra={"topics": list(event.topics), "reason": event.reason},
            )

    async def _watch_loop(self) -> None:
        settings = self._settings
        interval = min(0.25, settings.stale_after_s / 4, settings.status_interval_s)
        last = time.monotonic()
        next_status = last + settings.status_interval_s
        next_instruments = last + settings.instrument_interval_s
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            self._check_feeds(now, now - last)
            last = now
            if now >= next_status:
                next_status = now + settings.status_interval_s
                self._publish_statuses()
                self.publisher.heartbeat(self._settings.instance_id)
            if now >= next_instruments:
                next_instruments = now + settings.instrument_interval_s
                if self._refresh is not None:
                    self._refresh.due()  # reads the venue, stores and publishes

    def _check_feeds(self, now: float, elapsed_s: float) -> None:
        connected = self.stream is not None and self.stream.connection.connected
        live = 0
        for book in self.books.values():
            change = book.feed.check(now)
            if change is not None:
                self._on_change(book, change, "silence")
            if connected and book.feed.resync_due(now):
                self.metrics.resyncs.labels("timeout").inc()
                self._resyncer.request(book.symbol)
            live += book.feed.live
        self.metrics.symbols_live.set(live)
        self.metrics.stale_seconds.inc(elapsed_s * (len(self.books) - live))
        self._sync_connection_counters()

    def _sync_connection_counters(self) -> None:
        """Frames the stream dropped before they reached us (not JSON) or whose handler raised."""
        if self.stream is None:
            return
        connection = self.stream.connection
        undecodable = connection.undecodable_frames - self._seen_undecodable
        if undecodable > 0:
            self.metrics.bad_frames.labels("undecodable").inc(undecodable)
            self._seen_undecodable = connection.undecodable_frames
        errors = connection.handler_errors - self._seen_handler_errors
        if errors > 0:
            self.metrics.handler_errors.inc(errors)
            self._seen_handler_errors = connection.handler_errors

    def _publish_status(self, book: SymbolBook) -> None:
        self.publisher.status(book)

    def _publish_statuses(self) -> None:
        for book in self.books.values():
            self.publisher.status(book)

    def _publish_instruments(self) -> None:
        for definition in self.instruments.values():
            self.publisher.instrument(definition)


async def run(
    settings: GatewaySettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run md_gateway until `stop` is set (or SIGTERM/SIGINT when `stop` is None)."""
    await serve(GatewayService(settings), settings, stop, ready)

"""What the gateway puts on the bus and how: encoded messages, the `md.tick` span, the counters.

Every published book update (or one in `tick_trace_interval`) starts an `md.tick` span at the
frame's receive time (attributes: the venue's and our receive timestamps), and its trace context
rides the NATS headers of the book top and of the depth published with it, so the quoter's
`quote.compute` joins the same trace. Updates between traced ones carry no trace headers, and
the quoter, risk and the executor make no span for what follows from them (the default interval
is 100: tracing every update costs more CPU than the rest of the fast path's work).
"""

from __future__ import annotations

import time

from opentelemetry.trace import Span, Tracer

from md_gateway.outbox import Outbox, Outgoing
from md_gateway.symbol_book import SymbolBook
from mm_proto import Heartbeat, InstrumentDefinition, Trade, encode, subjects
from mm_runtime.loop_metrics import LoopCounter

_NS_PER_MS = 1_000_000
_KINDS = ("book", "mark", "depth", "trade", "status", "instrument")


class GatewayPublisher:
    """Builds and queues every message the gateway publishes."""

    def __init__(
        self,
        outbox: Outbox,
        tracer: Tracer,
        published: LoopCounter,
        service: str,
        trace_interval: int = 1,
    ) -> None:
        self._outbox = outbox
        self._tracer = tracer
        self._trace_interval = trace_interval
        self._untraced = 0
        self._service = service
        self._counters = {kind: published.labels(f"md.{kind}") for kind in _KINDS}
        self._put = outbox.put
        self._book_sent = self._counters["book"]
        self._mark_sent = self._counters["mark"]
        self._depth_sent = self._counters["depth"]
        self._heartbeats = published.labels("health.heartbeat")

    def book(self, book: SymbolBook, update_id: int, received_ns: int) -> None:
        """The book top (and the depth when due) after an applied frame, under one md.tick span."""
        self._untraced += 1
        headers: dict[str, str] | None = None
        span: Span | None = None
        if self._untraced >= self._trace_interval:
            self._untraced = 0
            span, headers = self._start_tick(book, update_id, received_ns)
        put = self._put
        message = book.top(update_id, received_ns)
        top = encode(message)
        put(Outgoing(book.book_subject, top, headers, span, received_ns, self._book_sent))
        if book.mark_due(message):  # the same bytes; stream MARKS keeps them for the ledger
            put(Outgoing(book.mark_subject, top, None, None, 0, self._mark_sent))
        if book.depth_due(received_ns):
            depth = encode(book.depth(update_id, received_ns))
            put(Outgoing(book.depth_subject, depth, headers, None, 0, self._depth_sent))

    def _start_tick(
        self, book: SymbolBook, update_id: int, received_ns: int
    ) -> tuple[Span, dict[str, str]]:
        """The `md.tick` span of a traced update and the headers that carry its context."""
        span = self._tracer.start_span("md.tick", start_time=received_ns)
        if span.is_recording():
            span.set_attributes(
                {
                    "md.symbol": book.symbol,
                    "md.update_id": update_id,
                    "md.ts_exchange_ns": (book.book.ts_exchange_ms or 0) * _NS_PER_MS,
                    "md.ts_received_ns": received_ns,
                }
            )
        context = span.get_span_context()
        # The W3C traceparent the runtime's propagator would write, built directly: this runs
        # once per traced update and the propagator's context plumbing costs more than the span.
        headers = {
            "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-"
            f"{context.trace_flags:02x}"
        }
        return span, headers

    def trade(self, subject: str, trade: Trade) -> None:
        self._outbox.put(Outgoing(subject, encode(trade), None, None, 0, self._counters["trade"]))

    def status(self, book: SymbolBook) -> None:
        payload = encode(book.status(time.time_ns()))
        self._outbox.put(
            Outgoing(book.status_subject, payload, None, None, 0, self._counters["status"])
        )

    def instrument(self, definition: InstrumentDefinition) -> None:
        subject = subjects.instrument(definition.venue, definition.category, definition.symbol)
        self._outbox.put(
            Outgoing(subject, encode(definition), None, None, 0, self._counters["instrument"])
        )

    def heartbeat(self, instance_id: str) -> None:
        message = Heartbeat(
            service=self._service, instance_id=instance_id, ts_sent_ns=time.time_ns()
        )
        subject = subjects.heartbeat(self._service)
        self._outbox.put(Outgoing(subject, encode(message), None, None, 0, self._heartbeats))

"""Tracing setup and W3C trace-context propagation through NATS message headers.

Each process owns one `TracerProvider` (not the global one, so several services can run in one test
process). The exporter is chosen by settings: none, OTLP over HTTP, a JSON-lines file (how system
tests collect spans from several processes) or memory (unit tests). Trace context crosses the bus
as the `traceparent`/`tracestate` headers of a NATS message.

`child_span` is how a handler opens its span under a message's context: for a parent that was not
sampled it makes no span object at all (the SDK would build a non-recording one per message).

`extract_context` and `inject_headers` run for every message on the fast path, so they do the W3C
propagator's work inline: the canonical `traceparent` the runtime itself writes (version 00,
lowercase hex, no `tracestate`) is parsed with one compiled pattern; anything else goes through
the propagator, which stays the authority for what is valid.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import (
    INVALID_SPAN,
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    Tracer,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mm_runtime.settings import TelemetrySettings

_log = logging.getLogger("mm_runtime.telemetry")
_PROPAGATOR = TraceContextTextMapPropagator()
_EMPTY_CONTEXT = Context()
# The form `inject_headers` writes; a header in any other form is left to the propagator.
_CANONICAL_TRACEPARENT = re.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE_ID, _ZERO_SPAN_ID = "0" * 32, "0" * 16


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON object per line to a file.

    The file's directory is made at start (one that cannot be made is a clear error then); a
    write that fails later (disk full, the directory removed) drops those spans, counted in
    `failed_spans`, with one warning per run of failures instead of a traceback per span."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self.failed_spans = 0
        self._failing = False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            message = f"telemetry.file_path {path!r}: cannot make its directory: {error}"
            raise ValueError(message) from error

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(_span_record(span)) + "\n" for span in spans]
        with self._lock:
            try:
                with self._path.open("a", encoding="utf-8") as sink:
                    sink.writelines(lines)
            except OSError as error:
                self.failed_spans += len(spans)
                if not self._failing:
                    _log.warning(
                        "span file not writable; dropping spans",
                        extra={"path": str(self._path), "error": str(error)},
                    )
                self._failing = True
                return SpanExportResult.FAILURE
            self._failing = False
        return SpanExportResult.SUCCESS


def _span_record(span: ReadableSpan) -> dict[str, object]:
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name", ""),
        "trace_id": f"{context.trace_id:032x}" if context else "",
        "span_id": f"{context.span_id:016x}" if context else "",
        "parent_span_id": f"{parent.span_id:016x}" if parent else "",
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "attributes": dict(span.attributes or {}),
    }


class Telemetry:
    """A process's tracer provider, its tracer and (in tests) the in-memory exporter."""

    def __init__(self, service: str, settings: TelemetrySettings) -> None:
        sampler = ParentBased(TraceIdRatioBased(settings.sample_ratio))
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service}), sampler=sampler
        )
        self.memory: InMemorySpanExporter | None = None
        if settings.exporter == "otlp":
            # Loaded only when used: the OTLP exporter and its protobuf encoders take a tenth of a
            # second or more to import, which every process (and `mm` command) would pay at start.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
            )
        elif settings.exporter == "file":
            if not settings.file_path:
                raise ValueError("telemetry.file_path must be set when telemetry.exporter is file")
            self.provider.add_span_processor(
                SimpleSpanProcessor(JsonLinesSpanExporter(settings.file_path))
            )
        elif settings.exporter == "memory":
            self.memory = InMemorySpanExporter()
            self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer: Tracer = self.provider.get_tracer(service)

    def shutdown(self) -> None:
        self.provider.force_flush()
        self.provider.shutdown()


def inject_headers(
    headers: dict[str, str] | None = None, context: Context | None = None
) -> dict[str, str]:
    """Headers carrying the current (or given) trace context, merged into `headers`: what
    `TraceContextTextMapPropagator.inject` writes, without its generic carrier plumbing."""
    carrier = dict(headers) if headers else {}
    span_context = get_current_span(context or otel_context.get_current()).get_span_context()
    if span_context == INVALID_SPAN_CONTEXT:
        return carrier
    carrier["traceparent"] = (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{span_context.trace_flags:02x}"
    )
    if span_context.trace_state:
        carrier["tracestate"] = span_context.trace_state.to_header()
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> Context:
    """The trace context a message's headers carry (an empty context when there is none)."""
    if not headers:
        return _EMPTY_CONTEXT  # immutable: shared by every message without headers
    parent = headers.get("traceparent")
    if parent is None:
        return _EMPTY_CONTEXT  # what the propagator returns: a fresh, empty context
    match = _CANONICAL_TRACEPARENT.fullmatch(parent)
    if match is None or "tracestate" in headers:
        return _PROPAGATOR.extract(headers)
    trace_id, span_id, flags = match.groups()
    if trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
        return _EMPTY_CONTEXT
    span_context = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16)),
    )
    return set_span_in_context(NonRecordingSpan(span_context), _EMPTY_CONTEXT)


def traced(context: Context | None) -> bool:
    """Whether a message's context carries a trace to continue (its headers had one)."""
    return get_current_span(context) is not INVALID_SPAN


def untraced_tick(ts_tick_ns: int, context: Context | None) -> bool:
    """A message derived from a book update (`ts_tick_ns` set) that the gateway did not trace
    (no trace context): the quoter, risk and the executor make no span for it."""
    return bool(ts_tick_ns) and not traced(context)


def child_span(tracer: Tracer, name: str, context: Context | None) -> AbstractContextManager[Span]:
    """`tracer.start_as_current_span(name, context=context)`, except under a parent that was not
    sampled: then no span is made; the parent's context is made current for the block (what is
    published in it carries the same unsampled trace) and the parent's non-recording span is
    yielded (setting attributes on it does nothing)."""
    parent = get_current_span(context)
    span_context = parent.get_span_context()
    if span_context.is_valid and not span_context.trace_flags.sampled:
        return _Attached(context, parent)
    return tracer.start_as_current_span(name, context=context)


class _Attached(AbstractContextManager[Span]):
    """Makes a context current for a block and yields its span."""

    __slots__ = ("_context", "_span", "_token")

    def __init__(self, context: Context | None, span: Span) -> None:
        self._context = context
        self._span = span
        self._token: object = None

    def __enter__(self) -> Span:
        self._token = otel_context.attach(self._context or _EMPTY_CONTEXT)
        return self._span

    def __exit__(self, *_exc: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]

"""The runtime's inline trace-context headers read and write exactly what OpenTelemetry's W3C
propagator does, for the canonical form it parses itself and for every other form it hands on."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    TraceState,
    get_current_span,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mm_runtime.telemetry import extract_context, inject_headers

PROPAGATOR = TraceContextTextMapPropagator()
TRACE_ID, SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

HEADERS = [
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-00"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-ff"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "other": "x"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "tracestate": "vendor=value,b=2"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01", "tracestate": "not a tracestate"},
    {"traceparent": f"00-{TRACE_ID.upper()}-{SPAN_ID}-01"},
    {"traceparent": f"  00-{TRACE_ID}-{SPAN_ID}-01  "},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01-extra"},
    {"traceparent": f"01-{TRACE_ID}-{SPAN_ID}-01-future-fields"},
    {"traceparent": f"ff-{TRACE_ID}-{SPAN_ID}-01"},
    {"traceparent": f"00-{'0' * 32}-{SPAN_ID}-01"},
    {"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"},
    {"traceparent": f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-1"},
    {"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-0g"},
    {"traceparent": f"00_{TRACE_ID}_{SPAN_ID}_01"},
    {"traceparent": "x" * 600},
    {"traceparent": ""},
    {"traceparent": "garbage"},
    {"Traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"},
    {"other": "x"},
]


def _seen(context: Context) -> tuple[object, ...]:
    span_context = get_current_span(context).get_span_context()
    return (
        span_context.trace_id,
        span_context.span_id,
        span_context.is_remote,
        span_context.trace_flags,
        tuple(span_context.trace_state.items()),
        tuple(sorted(context.keys())) == tuple(sorted(PROPAGATOR.extract({}).keys())),
    )


@pytest.mark.parametrize("headers", HEADERS, ids=range(len(HEADERS)))
def test_a_header_is_read_as_the_propagator_reads_it(headers: dict[str, str]) -> None:
    assert _seen(extract_context(headers)) == _seen(PROPAGATOR.extract(headers))


def test_no_headers_read_as_an_empty_context() -> None:
    assert extract_context(None) == Context()
    assert extract_context({}) == Context()


def _propagated(span_context: SpanContext) -> dict[str, str]:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=set_span_in_context(NonRecordingSpan(span_context)))
    return carrier


SPAN_CONTEXTS = [
    SpanContext(int(TRACE_ID, 16), int(SPAN_ID, 16), is_remote=True),
    SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)),
    SpanContext(
        int(TRACE_ID, 16),
        3,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "value"), ("b", "2")]),
    ),
    SpanContext(0, 0, is_remote=False),
]


@pytest.mark.parametrize("span_context", SPAN_CONTEXTS, ids=range(len(SPAN_CONTEXTS)))
def test_a_context_is_written_as_the_propagator_writes_it(span_context: SpanContext) -> None:
    context = set_span_in_context(NonRecordingSpan(span_context))
    assert inject_headers(context=context) == _propagated(span_context)
    assert inject_headers({"keep": "me"}, context) == {"keep": "me", **_propagated(span_context)}
    token = otel_context.attach(context)
    try:
        assert inject_headers() == _propagated(span_context)
    finally:
        otel_context.detach(token)


def test_writing_leaves_the_callers_headers_unchanged() -> None:
    context = set_span_in_context(NonRecordingSpan(SPAN_CONTEXTS[0]))
    given = {"keep": "me"}
    inject_headers(given, context)
    assert given == {"keep": "me"}
    assert inject_headers() == {}  # nothing current outside a span

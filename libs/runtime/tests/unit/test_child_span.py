"""A handler's span under a message's trace context: recorded under a sampled parent, not made
at all under an unsampled one (whose context still rides what the handler publishes)."""

from __future__ import annotations

from mm_runtime.settings import TelemetrySettings
from mm_runtime.telemetry import Telemetry, child_span, extract_context, inject_headers

TRACE_ID, SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def _telemetry() -> Telemetry:
    return Telemetry("test", TelemetrySettings(exporter="memory"))


def _finished(telemetry: Telemetry) -> list[str]:
    assert telemetry.memory is not None
    return [span.name for span in telemetry.memory.get_finished_spans()]


def test_under_a_sampled_parent_the_span_is_recorded_in_the_parents_trace() -> None:
    telemetry = _telemetry()
    context = extract_context({"traceparent": f"00-{TRACE_ID}-{SPAN_ID}-01"})
    with child_span(telemetry.tracer, "risk.check", context) as span:
        span.set_attribute("symbol", "BTCUSDT")
        published = inject_headers()
    assert _finished(telemetry) == ["risk.check"]
    assert published["traceparent"].startswith(f"00-{TRACE_ID}-")
    assert not published["traceparent"].endswith(SPAN_ID + "-01")  # the child is the parent now


def test_under_an_unsampled_parent_no_span_is_made_and_its_context_is_passed_on() -> None:
    telemetry = _telemetry()
    parent = f"00-{TRACE_ID}-{SPAN_ID}-00"
    with child_span(
        telemetry.tracer, "risk.check", extract_context({"traceparent": parent})
    ) as span:
        span.set_attribute("symbol", "BTCUSDT")  # a no-op, not an error
        assert not span.is_recording()
        published = inject_headers()
    assert _finished(telemetry) == []
    assert published == {"traceparent": parent}
    assert inject_headers() == {}  # the context was current only inside the block


def test_without_a_parent_a_root_span_follows_the_sampler() -> None:
    telemetry = _telemetry()
    with child_span(telemetry.tracer, "quote.compute", extract_context(None)):
        pass
    with child_span(telemetry.tracer, "quote.compute", None):
        pass
    assert _finished(telemetry) == ["quote.compute", "quote.compute"]

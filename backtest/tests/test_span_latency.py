"""Latency files from the stack's exported spans: the samples, the skips, the errors.

The span files are written by the runtime's own JSON-lines exporter (`mm_runtime.telemetry`),
as the services write them with `TELEMETRY__EXPORTER=file`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace

from mm_backtest.latency import read_distribution
from mm_backtest.span_latency import (
    Samples,
    SpanFileError,
    SpanStats,
    extract,
    main,
    read_spans,
    write,
)
from mm_runtime.settings import TelemetrySettings
from mm_runtime.telemetry import Telemetry

T0 = 1_796_000_000_000_000_000  # wall ns, a whole millisecond
MS = 1_000_000


def _tracer(path: Path, service: str) -> Telemetry:
    return Telemetry(service, TelemetrySettings(exporter="file", file_path=str(path)))


def _tick(telemetry: Telemetry, stamped_ns: int, received_ns: int) -> trace.Span:
    span = telemetry.tracer.start_span("md.tick", start_time=received_ns)
    span.set_attributes({"md.ts_exchange_ns": stamped_ns, "md.ts_received_ns": received_ns})
    span.end(end_time=received_ns + MS // 2)
    return span


def _send(
    telemetry: Telemetry, parent: trace.Span | None, start: int, end: int, tick_ns: int | None
) -> None:
    context = trace.set_span_in_context(parent) if parent is not None else None
    span = telemetry.tracer.start_span("order.send", context=context, start_time=start)
    if tick_ns is not None:
        span.set_attribute("order.tick_to_order_ns", tick_ns)
    span.end(end_time=end)


def _two_services(tmp_path: Path) -> list[Path]:
    """A gateway and an executor file: one traced tick that led to a create and an amend."""
    gateway, executor = tmp_path / "md_gateway.jsonl", tmp_path / "executor.jsonl"
    tick = _tick(_tracer(gateway, "md_gateway"), T0, T0 + 3 * MS)
    sender = _tracer(executor, "executor")
    _send(sender, tick, T0 + 10 * MS, T0 + 35 * MS, 7 * MS)  # the plan's first request
    _send(sender, tick, T0 + 36 * MS, T0 + 48 * MS, None)  # the next request of the plan
    return [gateway, executor]


def test_a_feed_sample_is_the_venue_delay_plus_tick_to_order_and_an_order_sample_a_send(
    tmp_path: Path,
) -> None:
    stats = SpanStats()
    samples = extract(read_spans(_two_services(tmp_path), stats), stats)

    assert samples.feed_ms == (10.0,)  # 3 ms venue -> gateway, 7 ms gateway -> request
    assert samples.order_ms == (25.0, 12.0)
    assert stats.spans == 3
    assert stats.skipped == {}


def test_the_written_files_are_the_distributions_the_backtest_reads(tmp_path: Path) -> None:
    stats = SpanStats()
    feed, order = write(extract(read_spans(_two_services(tmp_path), stats), stats), tmp_path)

    assert read_distribution(feed).samples_ns == (10 * MS,)
    assert sorted(read_distribution(order).samples_ns) == [12 * MS, 25 * MS]


def test_sends_outside_the_window_are_counted_and_left_out(tmp_path: Path) -> None:
    stats = SpanStats()
    spans = read_spans(_two_services(tmp_path), stats)

    samples = extract(spans, stats, (T0 + 30 * MS, T0 + 40 * MS))

    assert samples.feed_ms == ()
    assert samples.order_ms == (12.0,)
    assert stats.skipped == {"outside_window": 1}


def test_bad_lines_and_samples_that_cannot_be_measured_are_counted_and_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spans.jsonl"
    telemetry = _tracer(path, "mixed")
    _send(telemetry, None, T0, T0 + MS, 2 * MS)  # its trace has no md.tick
    unstamped = _tick(telemetry, 0, T0)  # a book without the venue's time
    _send(telemetry, unstamped, T0 + MS, T0 + 2 * MS, 2 * MS)
    early = _tick(telemetry, T0 + 5 * MS, T0)  # received before the stamp: another clock
    _send(telemetry, early, T0 + MS, T0 + 2 * MS, 2 * MS)
    late = _tick(telemetry, T0, T0 + MS)
    _send(telemetry, late, T0 + MS, T0 + 70_000 * MS, 70_000 * MS)  # beyond the model's range
    with path.open("a") as sink:
        sink.write("{not json\n")
        sink.write(json.dumps({"name": "order.send", "attributes": {}}) + "\n")  # no times
        sink.write(json.dumps([1, 2]) + "\n")

    stats = SpanStats()
    samples = extract(read_spans([path], stats), stats)

    assert samples.feed_ms == ()
    assert samples.order_ms == (1.0, 1.0, 1.0)
    assert stats.skipped == {
        "malformed_line": 3,
        "feed_without_md_tick": 1,
        "feed_without_venue_stamp": 1,
        "feed_received_before_stamp": 1,
        "feed_out_of_range": 1,
        "order_out_of_range": 1,
    }


def test_no_samples_on_a_path_is_an_error_naming_the_skips(tmp_path: Path) -> None:
    stats = SpanStats()
    stats.skip("malformed_line")

    with pytest.raises(SpanFileError, match=r"0 feed, 2 order.*malformed_line"):
        write(Samples((), (1.0, 2.0), stats), tmp_path / "out")

    assert not (tmp_path / "out").exists()


def test_an_unreadable_span_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"

    with pytest.raises(SpanFileError, match=r"absent\.jsonl"):
        read_spans([missing], SpanStats())


def test_the_command_writes_both_files_and_refuses_empty_input_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(path) for path in _two_services(tmp_path)]

    assert main([*files, "--out", str(tmp_path / "latency")]) == 0
    assert read_distribution(tmp_path / "latency" / "feed.txt").samples_ns == (10 * MS,)

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main([str(empty), "--out", str(tmp_path / "none")]) == 1
    assert "no samples" in capsys.readouterr().err

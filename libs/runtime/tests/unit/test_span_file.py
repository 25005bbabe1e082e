"""The JSON-lines span exporter: its directory made at start, a failing write counted and warned
about once instead of raising per span."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from mm_runtime.settings import TelemetrySettings
from mm_runtime.telemetry import JsonLinesSpanExporter, Telemetry


def _spans(telemetry: Telemetry, count: int) -> None:
    for index in range(count):
        with telemetry.tracer.start_as_current_span(f"s{index}"):
            pass


def test_a_span_file_in_a_directory_not_yet_made_is_written(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "spans.jsonl"
    telemetry = Telemetry("t", TelemetrySettings(exporter="file", file_path=str(path)))
    _spans(telemetry, 2)
    telemetry.shutdown()
    assert [json.loads(line)["name"] for line in path.read_text().splitlines()] == ["s0", "s1"]


def test_a_directory_that_cannot_be_made_is_a_clear_error_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot make its directory"):
        JsonLinesSpanExporter(str(blocker / "spans.jsonl"))


def test_spans_that_cannot_be_written_are_counted_and_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spans" / "spans.jsonl"
    exporter = JsonLinesSpanExporter(str(path))
    path.mkdir()  # a directory where the file should be: every open fails
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with caplog.at_level(logging.WARNING, logger="mm_runtime.telemetry"):
        for index in range(3):
            with provider.get_tracer("t").start_as_current_span(f"s{index}"):
                pass
    assert exporter.failed_spans == 3
    assert [r.message for r in caplog.records].count("span file not writable; dropping spans") == 1
    provider.shutdown()

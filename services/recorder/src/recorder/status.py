"""What the recorder reports: its counters into the metrics, and `ctl.recorder.status` answers.

The recorder trades nothing, so every verb but status is refused with a reason (rather than left
unanswered, which a caller would read as "recorder is down").
"""

from __future__ import annotations

import dataclasses

from mm_proto import CtlReply, StatusRequest
from recorder.budget import Sweep
from recorder.metrics import RecorderMetrics
from recorder.writer import HourlyWriter, WriterCounts


class CountSync:
    """Moves the metrics' counters up to the writer's totals (counters only move forward)."""

    def __init__(self, metrics: RecorderMetrics) -> None:
        self._metrics = metrics
        self._seen = WriterCounts()

    def sync(self, counts: WriterCounts, pending_bytes: int) -> None:
        metrics, seen = self._metrics, self._seen
        metrics.lines_written.inc(counts.lines - seen.lines)
        metrics.bytes_written.inc(counts.bytes_written - seen.bytes_written)
        metrics.write_errors.inc(counts.write_errors - seen.write_errors)
        metrics.lines_dropped.inc(counts.lines_dropped - seen.lines_dropped)
        self._seen = dataclasses.replace(counts)
        metrics.pending_bytes.set(pending_bytes)


def answer(request: object, writer: HourlyWriter, sweep: Sweep | None) -> CtlReply:
    """The reply to one decoded control request."""
    if not isinstance(request, StatusRequest):
        return CtlReply(ok=False, message=f"recorder answers status only, not {request!r}")
    counts = writer.counts
    data = {
        "dir": str(writer.root),
        "open_files": str(len(writer.open_paths)),
        "lines_written": str(counts.lines),
        "bytes_written": str(counts.bytes_written),
        "write_errors": str(counts.write_errors),
        "lines_dropped": str(counts.lines_dropped),
        "disk_bytes": str(sweep.size_bytes) if sweep is not None else "",
        "over_budget": str(sweep.over).lower() if sweep is not None else "",
    }
    return CtlReply(ok=True, message=f"{counts.lines} lines written", data=data)

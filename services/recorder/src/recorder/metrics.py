"""The recorder's Prometheus metrics: frames written, bytes, lag, gaps, malformed frames, budget.

Labels are kinds and reasons fixed by the code, never symbols.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Receive -> on disk (as a zstd frame): bounded by the flush interval, 1 s by default.
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0, 10.0)


class RecorderMetrics:
    """Every metric the recorder exports, created on the service's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.frames = Counter(
            "recorder_frames_total",
            "Lines queued for the files, by kind (venue, malformed, gap, bus)",
            ["kind"],
            registry=registry,
        )
        self.lines_written = Counter(
            "recorder_lines_written_total", "Lines on disk (flushed)", registry=registry
        )
        self.bytes_written = Counter(
            "recorder_bytes_written_total", "Compressed bytes appended to files", registry=registry
        )
        self.lag_seconds = Histogram(
            "recorder_write_lag_seconds",
            "Oldest pending frame's receive time to its flush onto disk",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.gaps = Counter(
            "recorder_gaps_total",
            "Gaps recorded: disconnect, sequence (u did not follow), start, write",
            ["reason"],
            registry=registry,
        )
        self.unrouted = Counter(
            "recorder_unrouted_frames_total",
            "Frames of a topic or subject no configured symbol owns (kept under _unrouted)",
            registry=registry,
        )
        self.write_errors = Counter(
            "recorder_write_errors_total", "Failed appends (kept pending)", registry=registry
        )
        self.lines_dropped = Counter(
            "recorder_lines_dropped_total",
            "Lines dropped because writes kept failing beyond the pending limit",
            registry=registry,
        )
        self.pending_bytes = Gauge(
            "recorder_pending_bytes", "Lines waiting for the next flush", registry=registry
        )
        self.disk_bytes = Gauge(
            "recorder_disk_bytes", "Size of the recording directory", registry=registry
        )
        self.deleted_files = Counter(
            "recorder_budget_deleted_files_total",
            "Oldest files deleted to keep within the disk budget",
            registry=registry,
        )
        self.over_budget = Gauge(
            "recorder_over_budget",
            "1 while the files still being written alone exceed the budget",
            registry=registry,
        )
        self.reconnects = Counter(
            "recorder_reconnects_total", "Venue connections re-established", registry=registry
        )

"""The gateway's Prometheus metrics: frames, apply latency, gaps, resyncs, staleness, publish lag.

Labels are kinds and reasons fixed by the code, never symbols, so cardinality does not grow with
the symbol list; per-symbol health is on the bus as FeedStatus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from mm_runtime.loop_metrics import LoopCounter, LoopHistogram

# Apply of one frame in the Rust book: single-digit microseconds expected, a millisecond is bad.
_APPLY_BUCKETS = (2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3)
# Frame received -> handed to NATS: the target is p99 <= 2 ms.
_LAG_BUCKETS = (
    2.5e-5,
    5e-5,
    1e-4,
    2e-4,
    3e-4,
    5e-4,
    7.5e-4,
    1e-3,
    1.5e-3,
    2e-3,
    3e-3,
    5e-3,
    1e-2,
    2.5e-2,
    5e-2,
    0.1,
    0.25,
    1.0,
)


class GatewayMetrics:
    """Every metric md_gateway exports, created on the service's own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # The per-frame ones are `mm_runtime.loop_metrics` (no lock, bucket by bisection): with
        # prometheus_client's types they were a quarter of the gateway's CPU per book frame.
        self.frames = LoopCounter(
            "md_gateway_frames_total",
            "Venue frames received, by kind (book, trade, other)",
            ["kind"],
            registry=registry,
        )
        self.bad_frames = Counter(
            "md_gateway_bad_frames_total",
            "Frames dropped: book (the Rust book refused it), trade (unparsable), "
            "undecodable (not a JSON frame at all)",
            ["kind"],
            registry=registry,
        )
        self.apply_seconds = LoopHistogram(
            "md_gateway_apply_seconds",
            "Time to parse and apply one book frame in the Rust book",
            _APPLY_BUCKETS,
            registry=registry,
        )
        self.publish_lag_seconds = LoopHistogram(
            "md_gateway_publish_lag_seconds",
            "Frame receive time to its book top being handed to NATS",
            _LAG_BUCKETS,
            registry=registry,
        )
        self.gaps = Counter(
            "md_gateway_gaps_total", "Book update-id gaps detected", registry=registry
        )
        self.duplicates = Counter(
            "md_gateway_stale_frames_total",
            "Book frames not newer than the book (duplicates, late arrivals), ignored",
            registry=registry,
        )
        self.resyncs = Counter(
            "md_gateway_resyncs_total",
            "Fresh snapshots requested or received, by reason",
            ["reason"],
            registry=registry,
        )
        self.reconnects = Counter(
            "md_gateway_reconnects_total",
            "Public WebSocket connections re-established after a loss",
            registry=registry,
        )
        self.stale_seconds = Counter(
            "md_gateway_stale_seconds_total",
            "Symbol-seconds spent not live (stale or resyncing), summed over symbols",
            registry=registry,
        )
        self.symbols_live = Gauge(
            "md_gateway_symbols_live", "Symbols whose book is live now", registry=registry
        )
        self.symbols = Gauge(
            "md_gateway_symbols", "Symbols this replica carries", registry=registry
        )
        self.publish_failures = Counter(
            "md_gateway_publish_failures_total",
            "Messages the NATS client refused (disconnected, buffer full), dropped",
            registry=registry,
        )
        self.handler_errors = Counter(
            "md_gateway_frame_handler_errors_total",
            "Frames whose handler raised (a bug: logged with its traceback by the stream)",
            registry=registry,
        )
        self.instrument_reads = Counter(
            "md_gateway_instrument_reads_total",
            "Reads of the venue's instruments-info after start, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        self.frames_book = self.frames.labels("book")
        self.frames_trade = self.frames.labels("trade")
        self.frames_other = self.frames.labels("other")

"""nats-server's memory is judged by a ceiling derived from the bus's layout, not by a slope.

Why not a slope: nats-server keeps the block a file stream is writing to in memory while it is
read or written within 10 s (nats-server `server/filestore.go`, `defaultCacheBufferExpiration`),
and every stream here is written and read continuously. So each busy stream's cache grows with
every message until its block is full (8 MiB for a stream whose `max_bytes` is 32 MiB or more,
4 MiB for a KV bucket: `dynBlkSize` and `autoTuneFileStorageBlockSize` in nats-server), then starts
again with the next block. At the demo's rates (EXEC ~0.3 MB/min, MARKS ~0.27 MB/min) the first
blocks take about half an hour to fill: over a 30-minute soak the server's RSS climbs the whole
time although it is bounded. Measured standalone (2 KB messages into an EXEC-like stream read by
a pull consumer): RSS rose while the first blocks filled, then held within a few MiB while another
600 MB were written. Besides the caches, each message published with a `Nats-Msg-Id` holds a
de-duplication entry (~270 bytes measured) for the stream's duplicate window (24 h on EXEC, RISK
and KPI), so that part grows with the message rate for a day; `docs/soak.md` gives the sizing.

The ceiling is what the server may hold on top of its memory at the first sample: every stream's
and bucket's block cache (Go's collector lets the heap reach twice what is live, hence the factor),
plus an allowance for the de-duplication entries of the messages a soak stores. A leak in how the
stack uses the bus (streams or consumers without bound, a per-reconnect subscription) is caught by
this ceiling, by the disk budget and by the consumers' pending budgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.api import KeyValueConfig, StreamConfig

from mm_runtime.jetstream import BUCKETS, STREAMS

MIB = 1024**2
# nats-server's block sizes (server/filestore.go): the largest block and the KV buckets' block.
LARGE_BLOCK_BYTES = 8 * MIB
MEDIUM_BLOCK_BYTES = 4 * MIB
MIN_BLOCK_BYTES = 32 * 1000
GO_HEAP_GOAL = 2.0  # GOGC=100: the heap may grow to twice the live data before a collection
DEDUPE_ALLOWANCE_MIB = 16.0  # ~270 B per message id, twice: 30 000 messages with ids in a soak


def stream_block_bytes(stream: StreamConfig) -> int:
    """The block size nats-server gives a file stream with this configuration."""
    if not stream.max_bytes or stream.max_bytes <= 0:
        return LARGE_BLOCK_BYTES
    block = stream.max_bytes // 4 + 1
    if block <= MIN_BLOCK_BYTES:
        return MIN_BLOCK_BYTES
    return LARGE_BLOCK_BYTES if block >= LARGE_BLOCK_BYTES else MEDIUM_BLOCK_BYTES


def block_cache_bound_mib(
    streams: tuple[StreamConfig, ...] = STREAMS, buckets: tuple[KeyValueConfig, ...] = BUCKETS
) -> float:
    """The most the server caches for the layout: one full block per stream and per bucket."""
    total = sum(stream_block_bytes(stream) for stream in streams)
    total += MEDIUM_BLOCK_BYTES * len(buckets)
    return total / MIB


def ceiling_mib(start_mib: float) -> float:
    """nats-server's RSS ceiling given its RSS at the first sample."""
    return start_mib + GO_HEAP_GOAL * block_cache_bound_mib() + DEDUPE_ALLOWANCE_MIB


def is_nats(series: str) -> bool:
    """`rss_mib.nats` and, on a clustered bus, `rss_mib.nats-1` ..."""
    prefix, _, child = series.partition(".")
    return prefix == "rss_mib" and (child == "nats" or child.startswith("nats-"))


@dataclass(frozen=True)
class CeilingVerdict:
    series: str
    peak: float
    ceiling: float
    samples: int

    @property
    def ok(self) -> bool:
        return self.peak <= self.ceiling

    def describe(self) -> str:
        verdict = "ok" if self.ok else "OVER CEILING"
        return (
            f"{self.series}: peak {self.peak:.1f} over the run ({self.samples} samples), "
            f"ceiling {self.ceiling:.1f} (start + block caches + de-duplication): {verdict}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "series": self.series,
            "peak": round(self.peak, 3),
            "ceiling": round(self.ceiling, 3),
            "ok": self.ok,
        }


def judge_nats(series: str, points: list[tuple[float, float]]) -> CeilingVerdict:
    """The whole run's peak against the ceiling from the first sample."""
    values = [value for _, value in points if value > 0]  # 0: the server was down at that sample
    start = values[0] if values else 0.0
    return CeilingVerdict(series, max(values, default=0.0), ceiling_mib(start), len(values))

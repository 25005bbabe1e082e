"""Tick-to-order latency per symbol, kept in memory and published once a minute for `mm gate`.

The order sender hands each sample (`OrderTarget.ts_tick_ns` to the plan's first request,
nanoseconds) to `observe`: one list append on the send path, nothing published there. Once a
minute (wall-clock aligned; `gate_facts_interval_s`) `flush` turns each symbol's samples into
one `TickToOrderSummary` (count, nearest-rank p50 and p99, max) on `exec.latency.*` (stream
EXEC). A minute without samples publishes nothing: the gate reads no data, never a fast minute.
Past `MAX_SAMPLES` in one minute further samples still count and raise the max but are not kept
for the quantiles (`sampled` says how many were).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mm_proto import TickToOrderSummary, subjects

_log = logging.getLogger("executor.latency")

WINDOW_NS = 60_000_000_000
MAX_SAMPLES = 20_000  # per symbol and minute: the venue allows far fewer sends; ~3 ms to sort

Publish = Callable[[str, TickToOrderSummary, str], Awaitable[object]]


@dataclass
class _Samples:
    kept: list[int] = field(default_factory=list)
    count: int = 0
    max_nanos: int = 0


def nearest_rank(ordered: list[int], share: float) -> int:
    """The nearest-rank quantile of sorted samples (the largest below 100 for p99)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class TickToOrderWindow:
    """One executor's samples of the current minute, per symbol."""

    def __init__(self, venue: str, category: str, boot: str, now_ns: int | None = None) -> None:
        self.venue = venue
        self.category = category
        self.boot = boot  # this process, so a restart's summaries never de-duplicate away
        self._samples: dict[str, _Samples] = {}
        self.started_ns = time.time_ns() if now_ns is None else now_ns

    def observe(self, symbol: str, elapsed_ns: int) -> None:
        """One sample of `symbol` (the send path: no I/O, no allocation but the list's)."""
        samples = self._samples.get(symbol)
        if samples is None:
            samples = self._samples[symbol] = _Samples()
        samples.count += 1
        samples.max_nanos = max(samples.max_nanos, elapsed_ns)
        if len(samples.kept) < MAX_SAMPLES:
            samples.kept.append(elapsed_ns)

    def take(self, now_ns: int) -> list[TickToOrderSummary]:
        """The summaries of the window ending now, and a new window from now."""
        taken, self._samples = self._samples, {}
        start, self.started_ns = self.started_ns, now_ns
        summaries = []
        for symbol, samples in sorted(taken.items()):
            ordered = sorted(samples.kept)
            summaries.append(
                TickToOrderSummary(
                    venue=self.venue,
                    category=self.category,
                    symbol=symbol,
                    ts_start_ns=start,
                    ts_end_ns=now_ns,
                    count=samples.count,
                    sampled=len(ordered),
                    p50_nanos=nearest_rank(ordered, 0.50),
                    p99_nanos=nearest_rank(ordered, 0.99),
                    max_nanos=samples.max_nanos,
                )
            )
        return summaries

    async def flush(self, publish: Publish, now_ns: int | None = None) -> int:
        """Publish the window's summaries; how many."""
        now = time.time_ns() if now_ns is None else now_ns
        summaries = self.take(now)
        for summary in summaries:
            subject = subjects.tick_to_order(summary.venue, summary.category, summary.symbol)
            message_id = f"latency:{summary.symbol}:{self.boot}:{summary.ts_start_ns}"
            await publish(subject, summary, message_id)
        return len(summaries)

    async def run(self, publish: Publish, window_ns: int = WINDOW_NS) -> None:
        """Flush at every whole `window_ns` of wall time, forever (cancel to stop)."""
        while True:
            now = time.time_ns()
            await asyncio.sleep(((now // window_ns + 1) * window_ns - now) / 1e9)
            published = await self.flush(publish)
            _log.debug("tick-to-order summaries published", extra={"symbols": published})

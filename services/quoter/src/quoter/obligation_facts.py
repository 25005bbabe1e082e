"""The quoter's obligation snapshots, published once a minute per symbol for `mm gate`.

`ObligationCoverage` (in `obligation`) counts the snapshots each symbol took and how many met
the requirement; this module only reads those counts. Each minute (wall-clock aligned;
`gate_facts_interval_s`) it
publishes, per symbol that took snapshots since its last publish, one `ObligationSummary` with
the new snapshots and met on `quote.obligation.*` (stream QUOTER). A publish the bus does not
confirm is counted and its counts stay for the next minute's summary, so none is lost while the
quoter runs. A counter object replaced by a restart-only change starts again from zero.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from mm_proto import ObligationSummary, subjects
from mm_runtime.jetstream import publish_fact
from mm_runtime.lifecycle import Runtime
from quoter.metrics import QuoterMetrics
from quoter.obligation import ObligationCoverage
from quoter.settings import QuoterSettings
from quoter.strategy import SymbolQuoter

_log = logging.getLogger("quoter.obligation")

WINDOW_NS = 60_000_000_000

Publish = Callable[[str, ObligationSummary, str], Awaitable[object]]


@dataclass
class _Published:
    counter: ObligationCoverage  # the object the counts below were read from
    snapshots: int
    met: int
    since_ns: int


class ObligationFacts:
    """What of each symbol's coverage counts is not yet published."""

    def __init__(
        self,
        quoters: Mapping[str, SymbolQuoter],
        venue: str,
        category: str,
        boot: str,
        on_unstored: Callable[[], None] = lambda: None,
        now_ns: int | None = None,
    ) -> None:
        self.quoters = quoters
        self.venue = venue
        self.category = category
        self.boot = boot  # this process, so a restart's summaries never de-duplicate away
        self.on_unstored = on_unstored
        self._published: dict[str, _Published] = {}
        self._started_ns = time.time_ns() if now_ns is None else now_ns
        # Lease mode (quoter.shards): a symbol another replica quotes is that replica's to report;
        # our snapshots of it are dropped, so a takeover reports only what we quoted.
        self.owned: Callable[[str], bool] = lambda _symbol: True

    def pending(self, symbol: str, now_ns: int) -> ObligationSummary | None:
        """The symbol's snapshots not yet published, or None when there are none."""
        counter = self.quoters[symbol].coverage
        done = self._published.get(symbol)
        if done is None or done.counter is not counter:
            done = _Published(counter, 0, 0, done.since_ns if done else self._started_ns)
            self._published[symbol] = done
        snapshots = counter.snapshots - done.snapshots
        if snapshots <= 0:
            return None
        return ObligationSummary(
            venue=self.venue,
            category=self.category,
            symbol=symbol,
            ts_start_ns=done.since_ns,
            ts_end_ns=now_ns,
            snapshots=snapshots,
            met=counter.met - done.met,
        )

    async def flush(self, publish: Publish, now_ns: int | None = None) -> int:
        """Publish every symbol's pending summary; how many were stored."""
        now = time.time_ns() if now_ns is None else now_ns
        stored = 0
        for symbol in self.quoters:
            summary = self.pending(symbol, now)
            if summary is None:
                continue
            if not self.owned(symbol):
                self._consume(symbol, summary, now)
                continue
            subject = subjects.obligation(self.venue, self.category, symbol)
            message_id = f"obligation:{symbol}:{self.boot}:{summary.ts_start_ns}"
            try:
                await publish(subject, summary, message_id)
            except Exception as error:  # the bus is down or slow: keep the counts, say so
                self.on_unstored()
                _log.warning("obligation summary not stored", extra={"error": repr(error)})
                continue
            self._consume(symbol, summary, now)
            stored += 1
        return stored

    def _consume(self, symbol: str, summary: ObligationSummary, now_ns: int) -> None:
        done = self._published[symbol]
        done.snapshots += summary.snapshots
        done.met += summary.met
        done.since_ns = now_ns

    async def run(self, publish: Publish, window_ns: int = WINDOW_NS) -> None:
        """Flush at every whole `window_ns` of wall time, forever (cancel to stop)."""
        while True:
            now = time.time_ns()
            await asyncio.sleep(((now // window_ns + 1) * window_ns - now) / 1e9)
            await self.flush(publish)


def spawn(
    runtime: Runtime,
    quoters: Mapping[str, SymbolQuoter],
    settings: QuoterSettings,
    metrics: QuoterMetrics,
) -> ObligationFacts:
    """Start the supervised task publishing the quoters' obligation summaries; its state."""
    boot = f"{settings.instance_id}-{time.time_ns():x}"
    unstored = metrics.obligation_unstored.inc
    facts = ObligationFacts(quoters, settings.venue, settings.category, boot, unstored)
    publish = functools.partial(publish_fact, runtime.bus.client.jetstream())
    window_ns = int(settings.gate_facts_interval_s * 1e9)
    runtime.tasks.spawn("quoter-obligation", functools.partial(facts.run, publish, window_ns))
    return facts

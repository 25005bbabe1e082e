"""The event loop of one backtest: recorded frames, latencies and timers on a virtual clock.

Time is the recording's: a frame reaches the venue at the venue time it carries, and us after a
feed latency; a request we send reaches the venue after half of its order latency draw and the
venue's answers come back after the other half. The requests of one kind that one step sends
share one draw, as the executor sends them as one batch request (and measured latencies are per
request, not per order). Each path is first-in first-out (a WebSocket or
a connection does not reorder), so a latency drawn from a distribution delays but never reorders.
Events at the same nanosecond run in a fixed order (frames at the venue, then queued events in
the order they were queued, then the timer), so a run depends on nothing but its inputs.
After the last frame, events already in flight still land for up to `DRAIN_NS` (no timers run
then). Ctrl-C stops the loop where it is; the figures up to there are flushed and returned, marked
`interrupted`. With `stop_on_sigint` (the single run of `mm backtest`) SIGINT only sets a flag the
loop reads before each event, so the stop never lands inside a library call or a finalizer, where a
KeyboardInterrupt can be swallowed; otherwise (a sweep's worker) KeyboardInterrupt does the same.
"""

from __future__ import annotations

import contextlib
import heapq
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mm_backtest.desk import Change, Request
from mm_backtest.latency import Latency, LatencySampler
from mm_backtest.params import BacktestParams
from mm_backtest.source import Frame, SourceError, SourceStats, read_frames
from mm_backtest.stack import Stack
from mm_backtest.venue import Venue, VirtualClock
from mm_proto import Fill, KpiSnapshot

_NS_PER_S = 1_000_000_000
_FEED, _REQUEST, _PRIVATE, _REFUSAL = range(4)
Progress = Callable[[int, int], None]  # frames done, virtual time (ns)
PROGRESS_EVERY = 4096
MAX_EVENTS_AT_ONE_INSTANT = 100_000
DRAIN_NS = 1_000_000_000  # after the last frame, what lands within this still lands


@dataclass
class Result:
    """What a run produced: the ledger's snapshots, our fills, and how the run went."""

    snapshots: list[KpiSnapshot]
    fills: list[Fill]
    frames: int
    start_ns: int
    end_ns: int
    interrupted: bool
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


class StuckError(RuntimeError):
    """Virtual time stopped advancing: events keep causing events at the same instant."""


class _Fifo:
    """One direction of one path: a delivery never overtakes an earlier one."""

    def __init__(self) -> None:
        self.last_ns = 0

    def at(self, ns: int) -> int:
        if ns > self.last_ns:
            self.last_ns = ns
        return self.last_ns


class Backtest:
    """One run over a recording with one parameter set."""

    def __init__(
        self,
        params: BacktestParams,
        paths: list[Path],
        feed: Latency,
        order: Latency,
        window: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self.params = params
        self.paths = paths
        self.feed = feed.sampler(params.seed)
        self.order: LatencySampler = order.sampler(params.seed + 1)
        self.window = window
        self.stats = SourceStats()
        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self._feed_in = _Fifo()
        self._to_venue = _Fifo()
        self._from_venue = _Fifo()
        self.clock = VirtualClock(0)
        self._started = False
        self._stop = False

    def request_stop(self) -> None:
        """Stop before the next event, as Ctrl-C does; the run returns what it has, interrupted."""
        self._stop = True

    @contextlib.contextmanager
    def _sigint_stops(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def run(
        self,
        progress: Progress | None = None,
        every: int = PROGRESS_EVERY,
        stop_on_sigint: bool = False,
    ) -> Result:
        """Replay the whole window; `progress` is called every `every` frames and at the end.

        Frames before the window's start only build the books (the venue's and the gateway's):
        a recording has its snapshot at its start, so a window starting later still begins
        with a whole book. Nothing quotes or is booked until the window starts."""
        start_ns, end_ns = self.window
        frames = read_frames(self.paths, self.stats, None, end_ns)
        first = next(frames, None)
        while first is not None and start_ns is not None and first.ts_ns < start_ns:
            self._warm_up(first)
            first = next(frames, None)
        if first is None:
            raise SourceError(
                f"no book or trade frames in the recording's window ({self.stats.skipped})"
            )
        self._start(first.ts_ns)
        self._snapshots: list[KpiSnapshot] = []
        self._flushed_ns = first.ts_ns
        interrupted = False
        try:
            with self._sigint_stops(stop_on_sigint):
                end_ns = self._loop(first, frames, progress, every)
            interrupted = self._stop
        except KeyboardInterrupt:
            interrupted, end_ns = True, self.clock.now_ns
        finally:
            frames.close()
        self._flush(end_ns)
        counts = dict(self.stack.counts.values)
        counts["in_flight_at_end"] = len(self._heap)
        return Result(
            self._snapshots,
            self.stack.fills,
            self.stats.frames,
            first.ts_ns,
            end_ns,
            interrupted,
            dict(sorted(counts.items())),
            dict(sorted(self.stats.skipped.items())),
        )

    def _loop(
        self, first: Frame, frames: Iterator[Frame], progress: Progress | None, every: int
    ) -> int:
        timer_ns = int(self.params.timer_interval_s * _NS_PER_S)
        flush_ns = int(self.params.flush_interval_s * _NS_PER_S)
        next_timer = first.ts_ns + timer_ns
        pending: Frame | None = first
        last_frame_ns = last_event_ns = first.ts_ns
        same_instant = 0
        done = 0
        heap = self._heap
        while (pending is not None or heap) and not self._stop:
            frame_ns = pending.ts_ns if pending is not None else None
            queued_ns = heap[0][0] if heap else None
            if pending is None and queued_ns is not None and queued_ns > last_frame_ns + DRAIN_NS:
                break  # the recording ended a while ago: what is still in flight never lands
            if frame_ns is not None and (queued_ns is None or frame_ns <= queued_ns):
                if frame_ns >= next_timer:
                    next_timer = self._timers(next_timer, frame_ns, timer_ns, flush_ns)
                assert pending is not None
                self._at_venue(pending)
                last_frame_ns = pending.ts_ns
                pending = next(frames, None)
                done += 1
                if progress is not None and done % every == 0:
                    progress(done, last_frame_ns)
                continue
            assert queued_ns is not None
            if queued_ns >= next_timer:
                next_timer = self._timers(next_timer, queued_ns, timer_ns, flush_ns)
            now = heap[0][0]
            same_instant = same_instant + 1 if now == last_event_ns else 0
            if same_instant > MAX_EVENTS_AT_ONE_INSTANT:
                raise StuckError(
                    f"more than {MAX_EVENTS_AT_ONE_INSTANT} events at venue time {now} ns: "
                    "a loop between our orders and the venue at zero latency; give the order "
                    "path a latency (--latency order=MS)"
                )
            self._dispatch(*heapq.heappop(heap))
            last_event_ns = now
        if progress is not None:
            progress(done, last_frame_ns)
        return max(last_frame_ns, last_event_ns)

    def _timers(self, next_timer: int, until_ns: int, timer_ns: int, flush_ns: int) -> int:
        """Every timer tick up to `until_ns`; returns the next tick's time."""
        while next_timer <= until_ns:
            self.clock.now_ns = next_timer
            self._send(self.stack.on_timer(next_timer), next_timer)
            if next_timer - self._flushed_ns >= flush_ns:
                self._flush(next_timer)
            next_timer += timer_ns
        return next_timer

    def _start(self, first_ns: int) -> None:
        """The venue and the stack, on a clock starting at the first frame read."""
        if self._started:
            return
        self._started = True
        self.clock.now_ns = first_ns
        self.venue = Venue(self.params, self.clock)
        self.stack = Stack(self.params, first_ns)

    def _warm_up(self, frame: Frame) -> None:
        self._start(frame.ts_ns)
        self.clock.now_ns = frame.ts_ns
        try:
            self.venue.on_frame(frame)
        except ValueError:
            self.stack.counts.add("unreadable_frames_at_venue")
        self.venue.drain()
        published = self.venue.take_published()
        for seen in published if self.params.feed == "venue" else [frame]:
            self.stack.warm_up(seen, frame.ts_ns)
        self.stats.frames -= 1  # counted as read, not as replayed

    def _flush(self, now_ns: int) -> None:
        if now_ns > self._flushed_ns:
            self._snapshots += self.stack.ledger.flush(self._flushed_ns, now_ns)
            self._flushed_ns = now_ns

    def _push(self, at_ns: int, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at_ns, self._seq, kind, payload))

    def _at_venue(self, frame: Frame) -> None:
        now = frame.ts_ns
        self.clock.now_ns = now
        try:
            self.venue.on_frame(frame)
        except ValueError:
            self.stack.counts.add("unreadable_frames_at_venue")
        feed_at = self._feed_in.at(now + self.feed.draw_ns())
        for batch in self.venue.drain():
            self._push(self._from_venue.at(feed_at), _PRIVATE, batch)
        if self.params.feed == "recorded":
            self._push(feed_at, _FEED, frame)
        self._publish(feed_at)

    def _publish(self, feed_at: int) -> None:
        """The venue's own public messages (feed `venue`), after the feed latency."""
        for published in self.venue.take_published():
            self._push(feed_at, _FEED, published)

    def _dispatch(self, now: int, _seq: int, kind: int, payload: Any) -> None:
        self.clock.now_ns = now
        stack = self.stack
        if kind == _FEED:
            self._send(stack.on_frame(payload, now), now)
        elif kind == _PRIVATE:
            self._send(stack.on_private(payload, now), now)
        elif kind == _REFUSAL:
            symbol, verb, cid, reason = payload
            self._send(stack.on_refusal(symbol, verb, cid, reason, now), now)
        else:
            self._request(now, *payload)

    def _request(self, now: int, symbol: str, verb: str, cid: str, body: Any, back_ns: int) -> None:
        reason = self.venue.request(verb, cid, body)
        answer_at = self._from_venue.at(now + back_ns)
        if reason:
            self._push(answer_at, _REFUSAL, (symbol, verb, cid, reason))
        for batch in self.venue.drain():
            self._push(answer_at, _PRIVATE, batch)
        self._publish(self._feed_in.at(now + self.feed.draw_ns()))

    def _send(self, requests: list[Request], now: int) -> None:
        if not requests and not self.stack.halt_requests:
            return  # most steps send nothing
        requests += self.stack.halt_requests
        self.stack.halt_requests.clear()
        draws: dict[str, int] = {}  # one per kind: the executor's batch request
        for verb, cid, body in requests:
            draw = draws.get(verb)
            if draw is None:
                draw = draws[verb] = self.order.draw_ns()
            there = self._to_venue.at(now + draw // 2)
            symbol = body.symbol if isinstance(body, Change) else body["symbol"]
            self._push(there, _REQUEST, (symbol, verb, cid, body, draw - draw // 2))

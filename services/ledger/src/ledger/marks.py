"""Mids over time for one symbol: the current mid and a bounded history to look a past mid up.

A mid is kept as the sum of best bid and best ask in ticks (`mid2`, "half ticks"), so that it is
an exact integer even when the spread is an odd number of ticks. The history records a point only
when the mid changes, and keeps `retention_ns` of venue time behind the newest point.
"""

from __future__ import annotations

from bisect import bisect_right


class MidHistory:
    """The prevailing mid at any venue time within the retention, as `mid2` (bid + ask ticks)."""

    def __init__(self, retention_ns: int) -> None:
        if retention_ns <= 0:
            raise ValueError(f"retention_ns must be positive, was {retention_ns}")
        self.retention_ns = retention_ns
        self._times: list[int] = []
        self._mids: list[int] = []
        self._start = 0

    @property
    def latest(self) -> int | None:
        """The newest mid2, or None before the first."""
        return self._mids[-1] if len(self._mids) > self._start else None

    @property
    def latest_ts_ns(self) -> int:
        return self._times[-1] if len(self._times) > self._start else 0

    def record(self, ts_ns: int, mid2: int) -> None:
        """Note the mid at `ts_ns`; a point older than the newest one is kept as the newest time."""
        if len(self._times) > self._start:
            ts_ns = max(ts_ns, self._times[-1])
            if self._mids[-1] == mid2:
                return
        self._times.append(ts_ns)
        self._mids.append(mid2)
        self._prune(ts_ns - self.retention_ns)

    def at(self, ts_ns: int) -> int | None:
        """The mid2 prevailing at `ts_ns` (the last point at or before it); None if unknown."""
        index = bisect_right(self._times, ts_ns, lo=self._start) - 1
        if index < self._start:
            return None
        return self._mids[index]

    def _prune(self, oldest_ns: int) -> None:
        # Keep the last point before `oldest_ns`: it is the mid prevailing at `oldest_ns`.
        start = bisect_right(self._times, oldest_ns, lo=self._start) - 1
        if start > self._start:
            self._start = start
        if self._start > 4096 and self._start * 2 > len(self._times):
            del self._times[: self._start]
            del self._mids[: self._start]
            self._start = 0

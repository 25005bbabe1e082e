"""The time sources the simulator reads: the wall clock when live, a settable clock in tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Milliseconds since the epoch, as the venue's engine sees them."""

    def now_ms(self) -> int: ...


class WallClock:
    """The machine's real time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to, starting at the wall time unless given one."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now_ms = start_ms if start_ms is not None else WallClock().now_ms()

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, milliseconds: int) -> None:
        if milliseconds < 0:
            raise ValueError(f"expected a non-negative advance, received {milliseconds} ms")
        self._now_ms += milliseconds

"""Reconnect delays: exponential growth with full jitter, capped, reset after a stable period."""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """Hands out reconnect delays; `rng` and `clock` are injectable so tests can pin the schedule.

    Delay n (0-based) is `rng() * min(cap_s, base_s * multiplier**n)` ("full jitter"). A connection
    that stayed up for `stable_after_s` resets the schedule, so one blip after hours of uptime
    retries fast while a flapping venue is not hammered.
    """

    def __init__(
        self,
        base_s: float = 0.5,
        cap_s: float = 30.0,
        multiplier: float = 2.0,
        stable_after_s: float = 60.0,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if base_s <= 0 or cap_s < base_s or multiplier < 1:
            raise ValueError(
                "expected 0 < base_s <= cap_s and multiplier >= 1, "
                f"was base_s={base_s}, cap_s={cap_s}, multiplier={multiplier}"
            )
        self.base_s = base_s
        self.cap_s = cap_s
        self.multiplier = multiplier
        self.stable_after_s = stable_after_s
        self._rng = rng
        self._clock = clock
        self._attempt = 0
        self._connected_at: float | None = None

    @property
    def attempt(self) -> int:
        """How many delays have been handed out since the last reset."""
        return self._attempt

    def ceiling(self, attempt: int) -> float:
        """The largest delay that attempt number `attempt` (0-based) may get."""
        exponent = min(attempt, 64)
        return float(min(self.cap_s, self.base_s * self.multiplier**exponent))

    def next_delay(self) -> float:
        """Return the next delay in seconds and advance the schedule."""
        delay = self._rng() * self.ceiling(self._attempt)
        self._attempt += 1
        return delay

    def on_connected(self) -> None:
        """Note that a connection is up, to judge later whether it was stable."""
        self._connected_at = self._clock()

    def on_disconnected(self) -> None:
        """Reset the schedule if the connection that just ended had been stable."""
        if self._connected_at is not None:
            uptime = self._clock() - self._connected_at
            if uptime >= self.stable_after_s:
                self._attempt = 0
        self._connected_at = None

    def reset(self) -> None:
        """Start the schedule over."""
        self._attempt = 0

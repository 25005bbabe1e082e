"""Per-UID, per-endpoint rolling one-second request quotas and the X-Bapi-Limit* headers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from mm_sim.clock import Clock

WINDOW_MS = 1000


@dataclass(frozen=True)
class Quota:
    """The outcome of asking for `requested` units: how many were granted and the header values."""

    limit: int
    remaining: int
    reset_ms: int
    granted: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Bapi-Limit": str(self.limit),
            "X-Bapi-Limit-Status": str(self.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms),
        }


class RateLimiter:
    """Counts units per (uid, endpoint) over the last second of the given clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._windows: dict[tuple[int, str], deque[int]] = {}

    def take(self, uid: int, endpoint: str, limit: int, requested: int = 1) -> Quota:
        """Grant up to `requested` units (a batch gets the ones that fit, first come first)."""
        now = self._clock.now_ms()
        window = self._windows.setdefault((uid, endpoint), deque())
        while window and window[0] <= now - WINDOW_MS:
            window.popleft()
        granted = max(0, min(requested, limit - len(window)))
        window.extend([now] * granted)
        reset_ms = window[0] + WINDOW_MS if window and granted < requested else now
        return Quota(limit, max(0, limit - len(window)), reset_ms, granted)

    def exhaust(self, uid: int, endpoint: str, limit: int) -> None:
        """Fill the window, as a rate-limit storm does."""
        self.take(uid, endpoint, limit, limit)

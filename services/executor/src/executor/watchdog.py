"""The target watchdog: trips once when risk has been silent too long, clears when it speaks."""

from __future__ import annotations


class Watchdog:
    """Armed from start, so orders adopted after a restart are cancelled if risk never appears."""

    def __init__(self, timeout_s: float, now_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError(f"watchdog timeout must be positive seconds, was {timeout_s}")
        self.timeout_s = timeout_s
        self.last_beat_s = now_s
        self.tripped = False

    def listening(self, now_s: float) -> None:
        """The heartbeat subscription is in place: silence counts from now, not from start (a
        slow start must not read as risk gone); a trip already made stands."""
        if not self.tripped:
            self.last_beat_s = max(self.last_beat_s, now_s)

    def beat(self, now_s: float) -> bool:
        """Risk is alive; True when this clears a trip."""
        self.last_beat_s = max(self.last_beat_s, now_s)
        was_tripped, self.tripped = self.tripped, False
        return was_tripped

    def check(self, now_s: float) -> bool:
        """True exactly once when the silence passes the timeout."""
        if self.tripped or now_s - self.last_beat_s < self.timeout_s:
            return False
        self.tripped = True
        return True

    def silence_s(self, now_s: float) -> float:
        return max(0.0, now_s - self.last_beat_s)

"""When quoting is allowed: UTC trading windows and cooldowns after configured events."""

from __future__ import annotations

import re
from dataclasses import dataclass

from quoter.fair_value import NANOS_PER_SECOND

MINUTES_PER_DAY = 24 * 60
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class TradingWindow:
    """A daily UTC window [start, end) in minutes of the day; a window may wrap past midnight."""

    start_minute: int
    end_minute: int

    def contains(self, minute_of_day: int) -> bool:
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute_of_day < self.end_minute
        return minute_of_day >= self.start_minute or minute_of_day < self.end_minute


def parse_window(text: str) -> TradingWindow:
    """Parse "HH:MM-HH:MM" (UTC; end 24:00 allowed; end before start wraps midnight)."""
    match = _WINDOW.match(text.strip())
    if match is None:
        raise ValueError(f"trading window must look like 'HH:MM-HH:MM' in UTC, was {text!r}")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end > MINUTES_PER_DAY:
        raise ValueError(f"trading window end must be at most 24:00, was {text!r}")
    if start == end % MINUTES_PER_DAY:
        raise ValueError(f"trading window must not be empty or the whole day, was {text!r}")
    return TradingWindow(start, end % MINUTES_PER_DAY if end == MINUTES_PER_DAY else end)


def minute_of_day(ts_ns: int) -> int:
    """UTC minute of the day of a Unix timestamp in nanoseconds."""
    return (ts_ns // (60 * NANOS_PER_SECOND)) % MINUTES_PER_DAY


def within_windows(windows: tuple[TradingWindow, ...], ts_ns: int) -> bool:
    """True when no windows are configured or `ts_ns` falls in one of them."""
    if not windows:
        return True
    minute = minute_of_day(ts_ns)
    return any(window.contains(minute) for window in windows)


class Cooldown:
    """Quiet time after an event: `trigger` starts (or extends) it, `active` tells if it runs."""

    def __init__(self) -> None:
        self._until_ns = 0
        self.last_event = ""

    def trigger(self, event: str, now_ns: int, duration_s: float) -> None:
        if duration_s <= 0:
            return
        self._until_ns = max(self._until_ns, now_ns + int(duration_s * NANOS_PER_SECOND))
        self.last_event = event

    def active(self, now_ns: int) -> bool:
        return now_ns < self._until_ns

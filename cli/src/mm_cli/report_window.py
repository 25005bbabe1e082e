"""The time window of `mm report`: `--since 1h` or `--from T --to T`, checked before any I/O."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NS = 1_000_000_000
_LAST_NS = 253_402_300_800 * _NS  # 10000-01-01: past the last instant a datetime can name


class WindowError(ValueError):
    """A window the report cannot be about, with the reason."""


@dataclass(frozen=True)
class Window:
    from_ns: int
    to_ns: int

    def describe(self) -> str:
        return f"{_iso(self.from_ns)} .. {_iso(self.to_ns)}"


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / _NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> int:
    """`90s`, `10m`, `1h`, `2d`, `1w` as nanoseconds."""
    found = _DURATION.match(text.strip())
    if not found:
        raise WindowError(f"--since must be a number and a unit s/m/h/d/w (e.g. 1h), was {text!r}")
    return int(float(found.group(1)) * _UNIT_S[found.group(2)] * _NS)


def parse_time(text: str) -> int:
    """An ISO 8601 time (UTC unless it says otherwise) or Unix seconds, as nanoseconds."""
    try:
        ns = int(float(text) * _NS)
    except (ValueError, OverflowError):  # not a number; nan; inf
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise WindowError(
                f"time must be ISO 8601 (2026-01-31T12:00:00Z) or Unix seconds, was {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ns = int(moment.timestamp() * _NS)
    if not 0 <= ns < _LAST_NS:
        raise WindowError(f"time must be between 1970 and 9999, was {text!r}")
    return ns


def window(
    since: str | None, start: str | None, end: str | None, now_ns: int | None = None
) -> Window:
    """The window the options name; WindowError for a contradictory, empty or future one."""
    now = time.time_ns() if now_ns is None else now_ns
    if since is not None and (start is not None or end is not None):
        raise WindowError("give either --since or --from/--to, not both")
    if since is not None:
        result = Window(now - parse_duration(since), now)
    elif start is not None:
        result = Window(parse_time(start), parse_time(end) if end is not None else now)
    elif end is not None:
        raise WindowError("--to needs --from")
    else:
        result = Window(now - 3600 * _NS, now)
    if result.from_ns < 0:
        raise WindowError(f"the window would start before 1970: --since {since} is too long")
    if result.to_ns <= result.from_ns:
        raise WindowError(f"the window is empty or reversed: {result.describe()}")
    if result.from_ns > now:
        raise WindowError(f"the window starts in the future: {result.describe()} (now {_iso(now)})")
    return result

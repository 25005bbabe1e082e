"""List queries as Bybit pages them: `limit`, an opaque `cursor`, and the 7-day time window.

A cursor names the position after the last row handed out (an index into a list that only grows,
or the key of the last row), so rows added or closed between two pages neither repeat nor shift
the rest. A cursor this venue did not issue is refused with 10001, as Bybit refuses a bad one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mm_sim.errors import parameter_error

Row = TypeVar("Row")

WEEK_MS = 7 * 24 * 3600 * 1000


def parse_limit(params: dict[str, Any], default: int, highest: int) -> int:
    text = str(params.get("limit", "") or "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise parameter_error(f"limit must be an integer in [1, {highest}], received {text!r}")
    return int(text)


def encode_cursor(kind: str, position: int) -> str:
    raw = f"{kind}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, kind: str) -> int:
    """The position a cursor of `kind` names; 10001 for anything this venue did not issue."""
    try:
        padded = text + "=" * (-len(text) % 4)
        found_kind, _, position = base64.urlsafe_b64decode(padded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise parameter_error(f"cursor invalid {text!r}") from None
    if found_kind != kind or not position.isdigit():
        raise parameter_error(f"cursor invalid {text!r}")
    return int(position)


def page_newest_first(
    rows: Sequence[Row],
    keep: Callable[[Row], bool],
    params: dict[str, Any],
    kind: str,
    limit: int,
) -> tuple[list[Row], str]:
    """Walk `rows` (oldest first, append-only) from the newest, after the cursor's position.

    Returns the kept rows of this page and the cursor of the next one ("" when none is left).
    """
    cursor_text = str(params.get("cursor", "") or "")
    start = decode_cursor(cursor_text, kind) if cursor_text else len(rows)
    start = min(start, len(rows))
    found: list[Row] = []
    index = start - 1
    while index >= 0 and len(found) < limit:
        if keep(rows[index]):
            found.append(rows[index])
        index -= 1
    more = any(keep(rows[i]) for i in range(index, -1, -1)) if len(found) == limit else False
    return found, encode_cursor(kind, index + 1) if more else ""


def time_window(params: dict[str, Any], now_ms: int) -> tuple[int, int]:
    """[start, end] in ms under Bybit's rules: 7 days back by default, at most 7 days wide."""
    start_text = str(params.get("startTime", "") or "")
    end_text = str(params.get("endTime", "") or "")
    for name, text in (("startTime", start_text), ("endTime", end_text)):
        if text and not text.isdigit():
            raise parameter_error(f"{name} must be a time in ms, received {text!r}")
    if start_text and end_text:
        start, end = int(start_text), int(end_text)
        if end < start:
            raise parameter_error("endTime must not be before startTime")
        if end - start > WEEK_MS:
            raise parameter_error(
                "The time range between startTime and endTime cannot exceed 7 days"
            )
        return start, end
    if start_text:
        return int(start_text), int(start_text) + WEEK_MS
    if end_text:
        return int(end_text) - WEEK_MS, int(end_text)
    return now_ms - WEEK_MS, now_ms

"""Refresh hysteresis: publish a new ladder only when it differs enough from the one resting.

Every new intent makes the executor amend or cancel/replace orders, which costs rate limit and
queue position. A ladder is republished when a level appears or disappears, when any level's
price moved by at least `price_ticks`, when its size changed by at least `size_pct` percent, or
when the resting one is older than `max_age_ns` (so the downstream always sees a fresh intent).
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_proto.quoting import Ladder, QuoteLevel


@dataclass(frozen=True, slots=True)
class RefreshRule:
    """Thresholds for republishing."""

    price_ticks: int
    size_pct: float
    max_age_ns: int


def _side_reason(
    old: tuple[QuoteLevel, ...], new: tuple[QuoteLevel, ...], rule: RefreshRule
) -> str:
    if len(old) != len(new):
        return "levels"
    for before, after in zip(old, new, strict=True):
        if abs(after.price_ticks - before.price_ticks) >= rule.price_ticks:
            return "price"
        change_pct = abs(after.size_lots - before.size_lots) * 100.0 / max(before.size_lots, 1)
        if change_pct >= rule.size_pct:
            return "size"
    return ""


def refresh_reason(
    resting: Ladder | None,
    resting_since_ns: int,
    candidate: Ladder,
    now_ns: int,
    rule: RefreshRule,
) -> str:
    """Why `candidate` replaces `resting` ("first", "levels", "price", "size", "age"), or ""."""
    if resting is None:
        return "first"
    if candidate == resting:
        return "age" if now_ns - resting_since_ns >= rule.max_age_ns else ""
    reason = _side_reason(resting.bids, candidate.bids, rule) or _side_reason(
        resting.asks, candidate.asks, rule
    )
    if reason:
        return reason
    return "age" if now_ns - resting_since_ns >= rule.max_age_ns else ""

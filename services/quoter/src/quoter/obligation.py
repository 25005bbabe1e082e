"""Market-maker obligations: size the ladder to keep depth near mid, and measure coverage.

Bybit's market-maker programme checks, on 10-second snapshots, that a quoter shows at least a
given notional on each side within 5 and within 10 bps of mid. `meet_obligation` tops a ladder up
to those requirements (adding size at the band's outer edge, the least exposed price that still
counts) as far as the inventory capacity of each side allows. `ObligationCoverage` counts the
snapshots in which the requirement was met on both sides.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from quoter.fair_value import NANOS_PER_SECOND
from quoter.ladder import ASK, BID
from quoter.pricing import BPS, SNAP_EPSILON


@dataclass(frozen=True, slots=True)
class Requirement:
    """At least `notional` (quote currency) resting within `band_bps` of mid on each side."""

    band_bps: float
    notional: float


def band_edge_ticks(mid_ticks: float, band_bps: float, direction: int) -> int:
    """The farthest whole-tick price from mid that is still inside the band on one side."""
    if direction == BID:
        return math.ceil(mid_ticks * (1 - band_bps * BPS) - SNAP_EPSILON)
    return math.floor(mid_ticks * (1 + band_bps * BPS) + SNAP_EPSILON)


def within_band(price_ticks: int, mid_ticks: float, band_bps: float, direction: int) -> bool:
    """True when the price is on its side of mid and no farther than the band."""
    edge = band_edge_ticks(mid_ticks, band_bps, direction)
    if direction == BID:
        return edge <= price_ticks < mid_ticks
    return mid_ticks < price_ticks <= edge


def notional_within(
    levels: tuple[QuoteLevel, ...], mid_ticks: float, band_bps: float, direction: int, inst: Grid
) -> float:
    """Quote-currency notional of the levels inside the band."""
    return sum(
        float(inst.notional(level.price_ticks, level.size_lots))
        for level in levels
        if within_band(level.price_ticks, mid_ticks, band_bps, direction)
    )


def requirements_met(
    ladder: Ladder, mid_ticks: float, requirements: tuple[Requirement, ...], inst: Grid
) -> bool:
    """True when both sides meet every requirement (the two-sided depth test of one snapshot)."""
    for requirement in requirements:
        for levels, direction in ((ladder.bids, BID), (ladder.asks, ASK)):
            shown = notional_within(levels, mid_ticks, requirement.band_bps, direction, inst)
            if shown + SNAP_EPSILON < requirement.notional:
                return False
    return True


def _add_lots(
    levels: tuple[QuoteLevel, ...], price: int, lots: int, direction: int
) -> tuple[QuoteLevel, ...]:
    merged = {level.price_ticks: level.size_lots for level in levels}
    merged[price] = merged.get(price, 0) + lots
    ordered = sorted(merged.items(), reverse=direction == BID)
    return tuple(QuoteLevel(price_ticks=p, size_lots=s) for p, s in ordered)


def top_up_side(
    levels: tuple[QuoteLevel, ...],
    direction: int,
    mid_ticks: float,
    requirements: tuple[Requirement, ...],
    opposite_touch_ticks: int,
    capacity_lots: int,
    inst: Grid,
) -> tuple[QuoteLevel, ...]:
    """Add size at each band's edge until the side meets its requirements or capacity ends."""
    for requirement in sorted(requirements, key=lambda item: item.band_bps):
        shortfall = requirement.notional - notional_within(
            levels, mid_ticks, requirement.band_bps, direction, inst
        )
        edge = band_edge_ticks(mid_ticks, requirement.band_bps, direction)
        # Post-only: an edge that would touch the opposite best moves behind it, if still in band.
        edge = (
            min(edge, opposite_touch_ticks - 1)
            if direction == BID
            else max(edge, opposite_touch_ticks + 1)
        )
        if shortfall <= SNAP_EPSILON or edge <= 0:
            continue
        if not within_band(edge, mid_ticks, requirement.band_bps, direction):
            continue
        used = sum(level.size_lots for level in levels)
        wanted = max(
            math.ceil(shortfall / float(inst.notional(edge, 1)) - SNAP_EPSILON), inst.min_lots(edge)
        )
        lots = min(wanted, capacity_lots - used)
        if lots < inst.min_lots(edge):
            continue
        levels = _add_lots(levels, edge, lots, direction)
    return levels


def meet_obligation(
    ladder: Ladder,
    mid_ticks: float,
    requirements: tuple[Requirement, ...],
    touch: tuple[int, int],
    capacity_lots: tuple[int, int],
    inst: Grid,
) -> Ladder:
    """The ladder topped up to the requirements; `touch` and `capacity_lots` are (bid, ask)."""
    best_bid, best_ask = touch
    bid_capacity, ask_capacity = capacity_lots
    return Ladder(
        bids=top_up_side(ladder.bids, BID, mid_ticks, requirements, best_ask, bid_capacity, inst),
        asks=top_up_side(ladder.asks, ASK, mid_ticks, requirements, best_bid, ask_capacity, inst),
    )


class ObligationCoverage:
    """Snapshots every `interval_s`: the share in which the two-sided requirement held."""

    def __init__(self, interval_s: float = 10.0, window: int = 360) -> None:
        if not interval_s > 0:
            raise ValueError(f"obligation snapshot interval must be > 0 s, was {interval_s}")
        self.interval_ns = int(interval_s * NANOS_PER_SECOND)
        self.snapshots = 0
        self.met = 0
        self.last_met = False
        self._recent: deque[bool] = deque(maxlen=window)
        self._next_ns = 0

    def due(self, now_ns: int) -> bool:
        """True when a snapshot should be taken now (aligned to whole intervals of wall time).

        The first call only schedules the first snapshot at the next boundary, so a quoter that
        just started is not measured before it had a chance to quote.
        """
        if self._next_ns == 0:
            self._next_ns = self._next_boundary(now_ns)
            return False
        return now_ns >= self._next_ns

    def _next_boundary(self, now_ns: int) -> int:
        return (now_ns // self.interval_ns + 1) * self.interval_ns

    def record(self, now_ns: int, met: bool) -> None:
        """Count one snapshot and schedule the next at the following interval boundary."""
        self.snapshots += 1
        self.met += int(met)
        self.last_met = met
        self._recent.append(met)
        self._next_ns = self._next_boundary(now_ns)

    def coverage(self) -> float:
        """Share of all snapshots so far in which the requirement was met (0 before any)."""
        return self.met / self.snapshots if self.snapshots else 0.0

    def recent_coverage(self) -> float:
        """Share of the last `window` snapshots in which the requirement was met."""
        return sum(self._recent) / len(self._recent) if self._recent else 0.0

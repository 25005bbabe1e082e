"""The quote ladder risk reasons about: integer price/size levels per side, and ways to shrink it.

Levels are ordered best first (highest bid, lowest ask), so trimming from the end removes the levels
furthest from the mid. Risk only ever removes levels or lowers sizes; it never adds or moves one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_proto import Grid
from mm_proto.quoting import level_changes


@dataclass(frozen=True)
class Level:
    """One resting order the target asks for."""

    price_ticks: int
    size_lots: int


@dataclass(frozen=True)
class Ladder:
    """Both sides of a target, best level first; empty sides mean no orders on that side."""

    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.bids and not self.asks

    @property
    def bid_lots(self) -> int:
        return sum(level.size_lots for level in self.bids)

    @property
    def ask_lots(self) -> int:
        return sum(level.size_lots for level in self.asks)

    @property
    def order_count(self) -> int:
        return len(self.bids) + len(self.asks)


EMPTY_LADDER = Ladder()


def cap_side(levels: tuple[Level, ...], capacity_lots: int) -> tuple[Level, ...]:
    """Keep the best levels whose total size fits `capacity_lots`, cutting the one that crosses."""
    kept: list[Level] = []
    remaining = max(capacity_lots, 0)
    for level in levels:
        if remaining <= 0:
            break
        size = min(level.size_lots, remaining)
        kept.append(Level(level.price_ticks, size))
        remaining -= size
    return tuple(kept)


def within_minimums(ladder: Ladder, grid: Grid) -> Ladder:
    """`ladder` without the levels smaller than the venue's minimum order at their price.

    A cut that leaves a level below `min_qty` or `min_notional` would only be refused by the venue,
    so risk drops that level instead of sending it.
    """

    def side(levels: tuple[Level, ...]) -> tuple[Level, ...]:
        return tuple(
            level for level in levels if level.size_lots >= grid.min_lots(level.price_ticks)
        )

    return Ladder(side(ladder.bids), side(ladder.asks))


def order_actions(previous: Ladder | None, new: Ladder) -> int:
    """The most venue actions (place, cancel or amend) turning `previous` into `new` needs."""
    before = previous or EMPTY_LADDER
    return level_changes(before.bids, new.bids) + level_changes(before.asks, new.asks)

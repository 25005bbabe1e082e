"""How risk shrinks a ladder (`mm_proto.quoting.Ladder` of `QuoteLevel`s) .

Levels are ordered best first (highest bid, lowest ask), so trimming from the end removes the levels
furthest from the mid. Risk only ever removes levels or lowers sizes; it never adds or moves one.
"""

from __future__ import annotations

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel


def cap_side(levels: tuple[QuoteLevel, ...], capacity_lots: int) -> tuple[QuoteLevel, ...]:
    """Keep the best levels whose total size fits `capacity_lots`, cutting the one that crosses."""
    kept: list[QuoteLevel] = []
    remaining = max(capacity_lots, 0)
    for level in levels:
        if remaining <= 0:
            break
        size = min(level.size_lots, remaining)
        # An uncut level is kept as it is (levels are immutable; a copy would be equal).
        kept.append(
            level
            if size == level.size_lots
            else QuoteLevel(price_ticks=level.price_ticks, size_lots=size)
        )
        remaining -= size
    return tuple(kept)


def within_minimums(ladder: Ladder, grid: Grid) -> Ladder:
    """`ladder` without the levels smaller than the venue's minimum order at their price.

    A cut that leaves a level below `min_qty` or `min_notional` would only be refused by the venue,
    so risk drops that level instead of sending it.
    """

    def side(levels: tuple[QuoteLevel, ...]) -> tuple[QuoteLevel, ...]:
        return tuple(
            level for level in levels if level.size_lots >= grid.min_lots(level.price_ticks)
        )

    return Ladder(side(ladder.bids), side(ladder.asks))

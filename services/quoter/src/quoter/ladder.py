"""The quote ladder: N levels per side with a spacing and size schedule, snapped to lots and limits.

The ladder is `mm_proto.quoting.Ladder` of `QuoteLevel`s, the form risk and the executor use too.

Sizes are given in lots of the grid; a level behind the first (`level_size_lots * multiplier^i`) is
rounded down to whole lots, then raised to the venue's minimum quantity and notional at that
level's price. Inventory caps the side that would grow the position: bids may add at most
`max_inventory_lots - position` and asks at most `max_inventory_lots + position`; a level that no
longer fits at the venue's minimum is dropped, and so is every level behind it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel, level_sizes
from quoter.pricing import BPS

BID = -1
ASK = 1


@dataclass(frozen=True, slots=True)
class LadderSpec:
    """How the levels behind the touch are spaced and sized."""

    levels: int
    spacing_ticks: int
    spacing_bps: float
    level_size_lots: int
    size_multiplier: float


def spacing_in_ticks(spec: LadderSpec, fair_ticks: float) -> int:
    """Distance between levels: the larger of the tick and bps spacing, at least one tick."""
    by_bps = math.ceil(spec.spacing_bps * BPS * fair_ticks)
    return max(1, spec.spacing_ticks, by_bps)


def size_schedule(spec: LadderSpec) -> tuple[int, ...]:
    """Whole lots of each level: `level_size_lots * multiplier^i`, rounded down."""
    return _schedule(spec.level_size_lots, spec.levels, spec.size_multiplier)


@functools.lru_cache(maxsize=256)
def _schedule(level_size_lots: int, levels: int, multiplier: float) -> tuple[int, ...]:
    # Asked on every touch change and the same until the params change; rounding each level
    # through Decimal is a good part of a quote's cost.
    return tuple(level_sizes(level_size_lots, levels, multiplier))


def level_lots(size_lots: int, price_ticks: int, grid: Grid) -> int:
    """A scheduled size raised to the minimum quantity and notional at this price."""
    return max(size_lots, grid.min_lots(price_ticks))


def build_side(
    touch_ticks: int,
    direction: int,
    spacing: int,
    sizes: Sequence[int],
    capacity_lots: int,
    grid: Grid,
) -> tuple[QuoteLevel, ...]:
    """Levels from `touch_ticks` outwards (`direction` BID or ASK) using <= `capacity_lots`."""
    levels: list[QuoteLevel] = []
    remaining = capacity_lots
    for index, size in enumerate(sizes):
        price = touch_ticks + direction * index * spacing
        if price <= 0:
            break
        lots = min(level_lots(size, price, grid), remaining)
        if lots < grid.min_lots(price):
            break
        levels.append(QuoteLevel(price_ticks=price, size_lots=lots))
        remaining -= lots
    return tuple(levels)


def quote_ladder(
    bid_ticks: int,
    ask_ticks: int,
    spec: LadderSpec,
    fair_ticks: float,
    inventory_lots: int,
    max_inventory_lots: int,
    grid: Grid,
) -> Ladder:
    """The full ladder behind our touch prices, capped so no side grows inventory past the limit."""
    spacing = spacing_in_ticks(spec, fair_ticks)
    sizes = size_schedule(spec)
    bid_capacity = max(0, max_inventory_lots - inventory_lots)
    ask_capacity = max(0, max_inventory_lots + inventory_lots)
    return Ladder(
        bids=build_side(bid_ticks, BID, spacing, sizes, bid_capacity, grid),
        asks=build_side(ask_ticks, ASK, spacing, sizes, ask_capacity, grid),
    )


def side_capacity(ladder_side: tuple[QuoteLevel, ...], capacity_lots: int) -> int:
    """Lots still free on a side given what its levels already use."""
    return max(0, capacity_lots - sum(level.size_lots for level in ladder_side))

"""The ladder: spacing and size schedule, lot snapping, venue minimums and inventory caps."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from quoter.ladder import LadderSpec, quote_ladder, spacing_in_ticks

BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_qty_lots=2, min_notional=Decimal(5))
FAIR = 1_000_000.0


def spec(levels: int = 3, size: int = 10, multiplier: float = 2.05) -> LadderSpec:
    return LadderSpec(
        levels=levels,
        spacing_ticks=5,
        spacing_bps=0.0,
        level_size_lots=size,
        size_multiplier=multiplier,
    )


def test_levels_step_outwards_by_the_spacing_with_geometric_sizes_snapped_down_to_lots() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(), FAIR, 0, 1_000, BTC)
    assert ladder.bids == (
        QuoteLevel(price_ticks=999_990, size_lots=10),
        QuoteLevel(price_ticks=999_985, size_lots=20),
        QuoteLevel(price_ticks=999_980, size_lots=42),
    )
    assert ladder.asks == (
        QuoteLevel(price_ticks=1_000_010, size_lots=10),
        QuoteLevel(price_ticks=1_000_015, size_lots=20),
        QuoteLevel(price_ticks=1_000_020, size_lots=42),
    )


def test_spacing_in_bps_wins_when_wider_than_the_tick_spacing() -> None:
    wide = LadderSpec(
        levels=2, spacing_ticks=1, spacing_bps=1.0, level_size_lots=10, size_multiplier=1
    )
    assert spacing_in_ticks(wide, FAIR) == 100
    assert spacing_in_ticks(spec(), FAIR) == 5


def test_sizes_below_the_minimum_quantity_are_raised_to_it() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(levels=1, size=1), FAIR, 0, 1_000, BTC)
    assert ladder.bids == (QuoteLevel(price_ticks=999_990, size_lots=2),)


def test_sizes_below_the_minimum_notional_are_raised_to_it() -> None:
    cheap = Grid("DOGEUSDT", Decimal("0.00001"), Decimal(1), min_notional=Decimal(5))
    # 0.1 USDT a coin: 5 USDT needs 50 coins although 10 were asked.
    ladder = quote_ladder(10_000, 10_001, spec(levels=1, size=10), 10_000.5, 0, 1_000, cheap)
    assert ladder.bids == (QuoteLevel(price_ticks=10_000, size_lots=50),)
    assert cheap.notional(10_000, 50) == pytest.approx(5.0)


def test_at_max_long_inventory_no_bids_are_quoted_and_asks_may_unwind() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(), FAIR, 73, 73, BTC)
    assert ladder.bids == ()
    assert [level.size_lots for level in ladder.asks] == [10, 20, 42]


def test_at_max_short_inventory_no_asks_are_quoted() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(), FAIR, -73, 73, BTC)
    assert ladder.asks == ()
    assert len(ladder.bids) == 3


def test_the_growing_side_is_trimmed_to_the_inventory_room_left() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(), FAIR, 60, 73, BTC)
    # 13 lots of room: 10 on the first level, 3 on the second, nothing on the third.
    assert ladder.bids == (
        QuoteLevel(price_ticks=999_990, size_lots=10),
        QuoteLevel(price_ticks=999_985, size_lots=3),
    )


def test_a_remainder_below_the_venue_minimum_is_dropped() -> None:
    ladder = quote_ladder(999_990, 1_000_010, spec(), FAIR, 62, 73, BTC)
    assert ladder.bids == (
        QuoteLevel(price_ticks=999_990, size_lots=10),
    )  # 1 lot left < min qty 2 lots


def test_levels_never_go_to_zero_or_negative_prices() -> None:
    ladder = quote_ladder(6, 20, spec(levels=4, size=1_000, multiplier=1.0), 13.0, 0, 10**6, BTC)
    assert all(level.price_ticks > 0 for level in ladder.bids)
    assert [level.price_ticks for level in ladder.bids] == [6, 1]


def test_an_empty_ladder_is_empty() -> None:
    assert Ladder().is_empty
    assert not Ladder(bids=(QuoteLevel(price_ticks=1, size_lots=1),)).is_empty

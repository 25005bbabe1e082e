"""Obligation mode: top the ladder up to the 5 and 10 bps depth and measure snapshot coverage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from quoter.ladder import ASK, BID
from quoter.obligation import (
    ObligationCoverage,
    Requirement,
    band_edge_ticks,
    meet_obligation,
    notional_within,
    requirements_met,
)

BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_notional=Decimal(5))
MID = 1_000_000.0  # 100_000 USDT
REQUIREMENTS = (Requirement(5.0, 1_000.0), Requirement(10.0, 3_000.0))
TOUCH = (999_999, 1_000_001)


def test_band_edges_are_the_farthest_ticks_inside_the_band() -> None:
    assert band_edge_ticks(MID, 5.0, BID) == 999_500
    assert band_edge_ticks(MID, 5.0, ASK) == 1_000_500
    assert band_edge_ticks(100.5, 100.0, BID) == 100  # 99.495 rounds in to 100


def test_levels_outside_the_band_do_not_count() -> None:
    levels = (
        QuoteLevel(price_ticks=999_600, size_lots=10),
        QuoteLevel(price_ticks=999_400, size_lots=10),
    )
    assert notional_within(levels, MID, 5.0, BID, BTC) == pytest.approx(999.6)
    assert notional_within(levels, MID, 10.0, BID, BTC) == pytest.approx(999.6 + 999.4)


def test_a_wide_ladder_is_topped_up_at_each_band_edge() -> None:
    wide = Ladder(
        bids=(QuoteLevel(price_ticks=998_000, size_lots=5),),
        asks=(QuoteLevel(price_ticks=1_002_000, size_lots=5),),
    )
    ladder = meet_obligation(wide, MID, REQUIREMENTS, TOUCH, (1_000, 1_000), BTC)
    assert ladder.bids == (
        QuoteLevel(price_ticks=999_500, size_lots=11),
        QuoteLevel(price_ticks=999_000, size_lots=20),
        QuoteLevel(price_ticks=998_000, size_lots=5),
    )
    assert ladder.asks == (
        QuoteLevel(price_ticks=1_000_500, size_lots=10),
        QuoteLevel(price_ticks=1_001_000, size_lots=20),
        QuoteLevel(price_ticks=1_002_000, size_lots=5),
    )
    assert requirements_met(ladder, MID, REQUIREMENTS, BTC)


def test_depth_already_inside_the_band_counts_towards_the_requirement() -> None:
    tight = Ladder(
        bids=(QuoteLevel(price_ticks=999_900, size_lots=40),),
        asks=(QuoteLevel(price_ticks=1_000_100, size_lots=40),),
    )
    assert meet_obligation(tight, MID, REQUIREMENTS, TOUCH, (1_000, 1_000), BTC) == tight


def test_the_top_up_is_limited_by_inventory_capacity() -> None:
    ladder = meet_obligation(Ladder(), MID, REQUIREMENTS, TOUCH, (15, 0), BTC)
    assert ladder.bids == (
        QuoteLevel(price_ticks=999_500, size_lots=11),
        QuoteLevel(price_ticks=999_000, size_lots=4),
    )
    assert ladder.asks == ()
    assert not requirements_met(ladder, MID, REQUIREMENTS, BTC)


def test_post_only_keeps_the_top_up_behind_the_opposite_touch() -> None:
    coarse = Grid("X", Decimal(1), Decimal(1))
    # Mid 100.5: the 100 bps bid edge rounds in to 100, still below the ask of 101.
    ladder = meet_obligation(
        Ladder(), 100.5, (Requirement(100.0, 300.0),), (100, 101), (99, 99), coarse
    )
    assert ladder.bids == (QuoteLevel(price_ticks=100, size_lots=3),)
    assert ladder.asks == (QuoteLevel(price_ticks=101, size_lots=3),)


def test_a_one_sided_ladder_does_not_meet_a_two_sided_requirement() -> None:
    one_sided = Ladder(bids=(QuoteLevel(price_ticks=999_900, size_lots=40),))
    assert not requirements_met(one_sided, MID, REQUIREMENTS, BTC)


def test_coverage_is_the_share_of_snapshots_that_met_the_requirement() -> None:
    coverage = ObligationCoverage(interval_s=10.0, window=2)
    second = 1_000_000_000
    assert not coverage.due(3 * second)  # the first call schedules the first boundary
    assert coverage.due(10 * second)
    coverage.record(3 * second, met=True)
    assert not coverage.due(9 * second)
    assert coverage.due(10 * second)
    coverage.record(10 * second, met=False)
    coverage.record(20 * second, met=True)
    coverage.record(30 * second, met=True)
    assert coverage.coverage() == pytest.approx(0.75)
    assert coverage.recent_coverage() == pytest.approx(1.0)


def test_coverage_before_any_snapshot_is_zero() -> None:
    assert ObligationCoverage().coverage() == 0.0

"""Refresh hysteresis: small moves are suppressed, real moves and old quotes are republished."""

from __future__ import annotations

from quoter.hysteresis import RefreshRule, refresh_reason
from quoter.ladder import Ladder, Level

RULE = RefreshRule(price_ticks=3, size_pct=20.0, max_age_ns=5_000_000_000)
RESTING = Ladder(bids=(Level(100, 10), Level(95, 20)), asks=(Level(110, 10),))


def test_the_first_ladder_is_always_published() -> None:
    assert refresh_reason(None, 0, RESTING, 1, RULE) == "first"


def test_a_price_move_below_the_threshold_is_suppressed() -> None:
    moved = Ladder(bids=(Level(102, 10), Level(97, 20)), asks=(Level(108, 10),))
    assert refresh_reason(RESTING, 0, moved, 1, RULE) == ""


def test_a_price_move_at_the_threshold_is_published() -> None:
    moved = Ladder(bids=RESTING.bids, asks=(Level(113, 10),))
    assert refresh_reason(RESTING, 0, moved, 1, RULE) == "price"


def test_a_size_change_below_the_threshold_is_suppressed_and_at_it_is_published() -> None:
    small = Ladder(bids=(Level(100, 11), Level(95, 20)), asks=RESTING.asks)
    large = Ladder(bids=(Level(100, 12), Level(95, 20)), asks=RESTING.asks)
    assert refresh_reason(RESTING, 0, small, 1, RULE) == ""
    assert refresh_reason(RESTING, 0, large, 1, RULE) == "size"


def test_a_level_appearing_or_disappearing_is_published() -> None:
    fewer = Ladder(bids=RESTING.bids[:1], asks=RESTING.asks)
    assert refresh_reason(RESTING, 0, fewer, 1, RULE) == "levels"


def test_pulling_all_quotes_is_published_at_once() -> None:
    assert refresh_reason(RESTING, 0, Ladder(), 1, RULE) == "levels"


def test_an_unchanged_ladder_is_republished_only_after_max_age() -> None:
    assert refresh_reason(RESTING, 0, RESTING, 4_999_999_999, RULE) == ""
    assert refresh_reason(RESTING, 0, RESTING, 5_000_000_000, RULE) == "age"


def test_a_suppressed_small_move_is_published_once_the_resting_ladder_is_old() -> None:
    moved = Ladder(bids=(Level(101, 10), Level(96, 20)), asks=(Level(110, 10),))
    assert refresh_reason(RESTING, 0, moved, 6_000_000_000, RULE) == "age"

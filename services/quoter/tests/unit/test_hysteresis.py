"""Refresh hysteresis: small moves are suppressed, real moves and old quotes are republished."""

from __future__ import annotations

from mm_proto.quoting import Ladder, QuoteLevel
from quoter.hysteresis import RefreshRule, refresh_reason

RULE = RefreshRule(price_ticks=3, size_pct=20.0, max_age_ns=5_000_000_000)
RESTING = Ladder(
    bids=(QuoteLevel(price_ticks=100, size_lots=10), QuoteLevel(price_ticks=95, size_lots=20)),
    asks=(QuoteLevel(price_ticks=110, size_lots=10),),
)


def test_the_first_ladder_is_always_published() -> None:
    assert refresh_reason(None, 0, RESTING, 1, RULE) == "first"


def test_a_price_move_below_the_threshold_is_suppressed() -> None:
    moved = Ladder(
        bids=(QuoteLevel(price_ticks=102, size_lots=10), QuoteLevel(price_ticks=97, size_lots=20)),
        asks=(QuoteLevel(price_ticks=108, size_lots=10),),
    )
    assert refresh_reason(RESTING, 0, moved, 1, RULE) == ""


def test_a_price_move_at_the_threshold_is_published() -> None:
    moved = Ladder(bids=RESTING.bids, asks=(QuoteLevel(price_ticks=113, size_lots=10),))
    assert refresh_reason(RESTING, 0, moved, 1, RULE) == "price"


def test_a_size_change_below_the_threshold_is_suppressed_and_at_it_is_published() -> None:
    small = Ladder(
        bids=(QuoteLevel(price_ticks=100, size_lots=11), QuoteLevel(price_ticks=95, size_lots=20)),
        asks=RESTING.asks,
    )
    large = Ladder(
        bids=(QuoteLevel(price_ticks=100, size_lots=12), QuoteLevel(price_ticks=95, size_lots=20)),
        asks=RESTING.asks,
    )
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
    moved = Ladder(
        bids=(QuoteLevel(price_ticks=101, size_lots=10), QuoteLevel(price_ticks=96, size_lots=20)),
        asks=(QuoteLevel(price_ticks=110, size_lots=10),),
    )
    assert refresh_reason(RESTING, 0, moved, 6_000_000_000, RULE) == "age"

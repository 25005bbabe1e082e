"""The flatten plan: one reduce-only order on the reducing side, post-only at our touch or IOC
within the slippage band, and clear refusals when there is nothing to do or no price."""

from __future__ import annotations

from mm_proto.quoting import Ladder, QuoteLevel
from risk.engine import Target
from risk.flatten import REPRICE_INTERVAL_NS, Flattener, plan_flatten
from risk.verdicts import MarketView

MARKET = MarketView(bid_price_ticks=599_990, ask_price_ticks=600_010, ts_received_ns=1)


def test_a_long_position_is_sold_post_only_at_the_best_ask() -> None:
    assert plan_flatten("BTCUSDT", 12, MARKET, 0) == Target(
        "BTCUSDT",
        Ladder(asks=(QuoteLevel(price_ticks=600_010, size_lots=12),)),
        "flatten",
        reduce_only=True,
    )


def test_a_short_position_is_bought_ioc_at_most_the_band_through_the_mid() -> None:
    target = plan_flatten("BTCUSDT", -7, MARKET, 10)
    assert isinstance(target, Target)
    assert (target.reduce_only, target.time_in_force) == (True, "ioc")
    assert target.ladder.asks == ()
    [level] = target.ladder.bids
    assert level == QuoteLevel(
        price_ticks=600_600, size_lots=7
    )  # mid 600_000 + 10 bps, rounded towards the mid
    long_target = plan_flatten("BTCUSDT", 7, MARKET, 10)
    assert isinstance(long_target, Target)
    assert long_target.ladder.asks == (QuoteLevel(price_ticks=599_400, size_lots=7),)


def test_nothing_to_flatten_no_book_or_a_wild_band_is_refused_with_the_reason() -> None:
    assert plan_flatten("BTCUSDT", 0, MARKET, 0) == "BTCUSDT is flat; nothing to flatten"
    assert "no live book" in str(plan_flatten("BTCUSDT", 3, None, 0))
    dead = MarketView(599_990, 600_010, 1, live=False)
    assert "no live book" in str(plan_flatten("BTCUSDT", 3, dead, 0))
    assert "0..500 bps" in str(plan_flatten("BTCUSDT", 3, MARKET, 501))
    assert "0..500 bps" in str(plan_flatten("BTCUSDT", 3, MARKET, -1))


def test_the_flattener_republishes_only_a_moved_target_and_not_too_often() -> None:
    flattener = Flattener()
    flattener.start("BTCUSDT", 0)
    first = flattener.next_target("BTCUSDT", 12, MARKET, now_ns=10**12)
    assert isinstance(first, Target)
    assert flattener.next_target("BTCUSDT", 12, MARKET, now_ns=10**12 + 1) is None
    assert flattener.next_target("BTCUSDT", 5, MARKET, now_ns=10**12 + 1) is None  # too soon
    later = 10**12 + REPRICE_INTERVAL_NS
    moved = flattener.next_target("BTCUSDT", 5, MARKET, now_ns=later)
    assert isinstance(moved, Target)
    assert moved.ladder.asks == (QuoteLevel(price_ticks=600_010, size_lots=5),)
    assert flattener.next_target("BTCUSDT", 0, MARKET, now_ns=later * 2) == (
        "BTCUSDT is flat; nothing to flatten"
    )

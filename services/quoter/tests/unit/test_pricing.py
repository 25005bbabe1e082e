"""Pricing math: skew direction, the half-spread floor with and without rebate, never crossing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_proto import Grid
from quoter.pricing import (
    SkewInputs,
    fee_floor_ticks,
    half_spread_ticks,
    quote_touch,
    reservation_price,
    snap_ask,
    snap_bid,
)

BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_notional=Decimal(5))
FAIR = 1_000_000.0  # 100_000.0 USDT in 0.1 ticks


def skew(inventory_lots: int, max_skew_bps: float = 50.0) -> SkewInputs:
    return SkewInputs(
        inventory_lots=inventory_lots,
        risk_aversion=0.1,
        variance_per_second=1e-8,
        horizon_s=60.0,
        max_skew_bps=max_skew_bps,
    )


def test_flat_inventory_keeps_the_reservation_price_at_fair_value() -> None:
    assert reservation_price(FAIR, skew(0), BTC) == FAIR


def test_long_inventory_lowers_and_short_inventory_raises_the_reservation_price() -> None:
    long = reservation_price(FAIR, skew(100), BTC)
    short = reservation_price(FAIR, skew(-100), BTC)
    assert long < FAIR < short
    assert FAIR - long == pytest.approx(short - FAIR)


def test_skew_matches_the_avellaneda_stoikov_formula_in_price_terms() -> None:
    # q = 0.1 BTC, gamma = 0.1, sigma^2 = 1e-8/s * 100_000^2 = 100 USDT^2/s, tau = 60 s: 60 USDT.
    shift_ticks = FAIR - reservation_price(FAIR, skew(100), BTC)
    assert shift_ticks == pytest.approx(600.0)


def test_skew_is_capped_at_max_skew_bps_of_fair_value() -> None:
    shift = FAIR - reservation_price(FAIR, skew(100_000, max_skew_bps=5.0), BTC)
    assert shift == pytest.approx(5e-4 * FAIR)


def test_half_spread_is_the_largest_of_min_spread_volatility_and_fee_floor() -> None:
    assert half_spread_ticks(FAIR, 2.0, 1.0, 0.0, 0.0) == pytest.approx(200.0)
    assert half_spread_ticks(FAIR, 2.0, 2.0, 5e-4, 0.0) == pytest.approx(1_000.0)
    assert half_spread_ticks(FAIR, 2.0, 1.0, 0.0, 0.0005) == pytest.approx(500.0)


def test_a_positive_maker_fee_sets_a_floor_equal_to_the_fee_per_unit() -> None:
    assert fee_floor_ticks(FAIR, 0.0002) == pytest.approx(200.0)
    assert half_spread_ticks(FAIR, 0.0, 0.0, 0.0, 0.0002) == pytest.approx(200.0)


def test_a_rebate_allows_a_tighter_spread_but_never_below_one_tick() -> None:
    with_fee = half_spread_ticks(FAIR, 0.0, 0.0, 0.0, 0.0002)
    with_rebate = half_spread_ticks(FAIR, 0.0, 0.0, 0.0, -0.0001)
    assert with_rebate < with_fee
    assert with_rebate == 1.0
    assert fee_floor_ticks(FAIR, -0.005) == 1.0


def test_bids_round_down_and_asks_round_up_to_a_tick() -> None:
    assert snap_bid(100.7, best_ask_ticks=200) == 100
    assert snap_ask(100.2, best_bid_ticks=50) == 101
    assert snap_bid(100.0, best_ask_ticks=200) == 100
    assert snap_ask(100.0, best_bid_ticks=50) == 100


def test_snapping_tolerates_float_noise_on_exact_ticks() -> None:
    assert snap_bid(0.1 * 3 / 0.1, best_ask_ticks=100) == 3
    assert snap_ask(0.7 / 0.1, best_bid_ticks=1) == 7


def test_quotes_never_cross_or_touch_the_opposite_best() -> None:
    # A reservation price far above the book would put our bid through the ask.
    bid, ask = quote_touch(1_000.0, 1.0, best_bid_ticks=900, best_ask_ticks=901)
    assert bid == 900
    assert ask >= 901
    bid, ask = quote_touch(800.0, 1.0, best_bid_ticks=900, best_ask_ticks=901)
    assert ask == 901
    assert bid <= 900


@pytest.mark.parametrize("reservation", [899.5, 900.0, 900.5, 901.0, 870.3, 930.9])
@pytest.mark.parametrize("half", [1.0, 1.4, 3.0])
def test_our_bid_stays_below_our_ask_and_each_behind_the_opposite_touch(
    reservation: float, half: float
) -> None:
    bid, ask = quote_touch(reservation, half, best_bid_ticks=900, best_ask_ticks=901)
    assert bid < ask
    assert bid <= 900
    assert ask >= 901

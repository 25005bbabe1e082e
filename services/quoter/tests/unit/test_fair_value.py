"""Fair value sources, the time-aware volatility estimate and the trade-flow imbalance."""

from __future__ import annotations

import math

import pytest

from quoter.fair_value import (
    Touch,
    TradeFlowImbalance,
    VolatilityEstimator,
    fair_price,
    microprice,
    mid_price,
)

SECOND = 1_000_000_000


def touch(bid: int = 100, ask: int = 102, bid_size: int = 1, ask_size: int = 1) -> Touch:
    return Touch(bid, bid_size, ask, ask_size, update_id=1, ts_ns=1)


def test_mid_is_halfway_and_microprice_leans_towards_the_thin_side() -> None:
    assert mid_price(touch()) == 101.0
    # Much more size bid than ask: the ask is about to be taken, fair value moves up.
    assert microprice(touch(bid_size=9, ask_size=1)) == pytest.approx(101.8)
    assert microprice(touch(bid_size=1, ask_size=9)) == pytest.approx(100.2)
    assert microprice(touch(bid_size=0, ask_size=0)) == 101.0


def test_the_configured_source_picks_the_fair_value() -> None:
    thin_ask = touch(bid_size=9, ask_size=1)
    assert fair_price(thin_ask, "mid") == 101.0
    assert fair_price(thin_ask, "microprice") == pytest.approx(101.8)


@pytest.mark.parametrize(
    ("bid", "ask", "bid_size", "problem"),
    [
        (0, 10, 1, "positive"),
        (10, 10, 1, "below ask"),
        (11, 10, 1, "below ask"),
        (9, 10, -1, "sizes"),
    ],
)
def test_unpriceable_touches_say_why(bid: int, ask: int, bid_size: int, problem: str) -> None:
    assert problem in touch(bid, ask, bid_size=bid_size).problem()


def test_a_valid_touch_has_no_problem() -> None:
    assert touch().problem() == ""


def test_volatility_of_alternating_returns_matches_their_size_per_second() -> None:
    estimator = VolatilityEstimator(horizon_s=10.0)
    price = 10_000.0
    for step in range(200):
        price *= math.exp(0.001 if step % 2 else -0.001)
        estimator.update(price, (step + 1) * SECOND)
    assert estimator.ready
    assert estimator.variance_per_second() == pytest.approx(1e-6, rel=0.02)
    assert estimator.sigma(4.0) == pytest.approx(2e-3, rel=0.02)


def test_volatility_decays_with_time_not_with_the_number_of_updates() -> None:
    burst = VolatilityEstimator(horizon_s=10.0)
    burst.update(100.0, SECOND)
    burst.update(101.0, 2 * SECOND)  # one real move
    for _ in range(1_000):  # a burst of unchanged prices in the same nanosecond
        burst.update(101.0, 2 * SECOND)
    assert burst.variance_per_second() == pytest.approx(math.log(1.01) ** 2, rel=1e-9)


def test_bad_or_out_of_order_prices_are_ignored_by_the_estimator() -> None:
    estimator = VolatilityEstimator(horizon_s=10.0)
    estimator.update(100.0, 10 * SECOND)
    estimator.update(float("nan"), 11 * SECOND)
    estimator.update(-1.0, 11 * SECOND)
    estimator.update(200.0, 5 * SECOND)
    assert estimator.variance_per_second() == 0.0
    assert not estimator.ready


def test_horizons_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        VolatilityEstimator(0.0)
    with pytest.raises(ValueError, match="must be > 0"):
        TradeFlowImbalance(-1.0)


def test_trade_flow_imbalance_is_signed_and_fades_with_time() -> None:
    flow = TradeFlowImbalance(horizon_s=1.0)
    assert flow.imbalance(0) == 0.0
    flow.update(taker_buys=True, size_lots=3, ts_ns=SECOND)
    flow.update(taker_buys=False, size_lots=1, ts_ns=SECOND)
    assert flow.imbalance(SECOND) == pytest.approx(0.5)
    flow.update(taker_buys=False, size_lots=3, ts_ns=20 * SECOND)
    assert flow.imbalance(20 * SECOND) == pytest.approx(-1.0, abs=1e-6)
    flow.update(taker_buys=True, size_lots=0, ts_ns=21 * SECOND)
    assert flow.imbalance(21 * SECOND) == pytest.approx(-1.0, abs=1e-6)

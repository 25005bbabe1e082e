"""Whatever the book, inventory and parameters, every ladder is post-only, on the grid and sane."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from mm_proto import Grid
from mm_proto.quoting import Ladder
from quoter.fair_value import Touch
from quoter.params import QuoterParams
from quoter.strategy import SymbolQuoter

SECOND = 1_000_000_000
INSTRUMENTS = (
    (Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_notional=Decimal(5)), 0.0002),
    (Grid("DOGEUSDT", Decimal("0.00001"), Decimal(1), min_notional=Decimal(5)), -0.0001),
    (Grid("COARSE", Decimal(1), Decimal(1), min_qty_lots=0), 0.0),
)


def random_params(rng: random.Random) -> QuoterParams:
    level_size = rng.choice([1, 10, 1_000, 500_000])
    return QuoterParams(
        fair_value_source=rng.choice(["mid", "microprice"]),
        risk_aversion=rng.choice([0.0, 0.1, 10.0, 1e6]),
        max_skew_bps=rng.choice([0.0, 5.0, 500.0]),
        min_spread_bps=rng.choice([0.01, 1.0, 20.0]),
        k_vola_spread=rng.choice([0.0, 1.0, 5.0]),
        levels=rng.randint(1, 6),
        level_spacing_ticks=rng.randint(1, 5),
        level_spacing_bps=rng.choice([0.0, 0.5, 3.0]),
        level_size_lots=level_size,
        level_size_multiplier=rng.choice([0.5, 1.0, 2.0]),
        # Below one level's size is refused by the model (a contradiction, not a case to quote).
        max_inventory_lots=max(level_size, rng.choice([1, 1_000, 10_000_000])),
        obligation_enabled=rng.random() < 0.5,
        obligation_notional_5bps=rng.choice([0.0, 100.0, 50_000.0]),
        obligation_notional_10bps=rng.choice([0.0, 1_000.0, 100_000.0]),
    )


def check(ladder: Ladder, touch: Touch, quoter: SymbolQuoter) -> None:
    instrument = quoter.instrument
    bid_prices = [level.price_ticks for level in ladder.bids]
    ask_prices = [level.price_ticks for level in ladder.asks]
    assert all(price < touch.ask_price_ticks for price in bid_prices), (ladder, touch)
    assert all(price > touch.bid_price_ticks for price in ask_prices), (ladder, touch)
    assert bid_prices == sorted(set(bid_prices), reverse=True)
    assert ask_prices == sorted(set(ask_prices))
    assert all(price > 0 for price in bid_prices)
    for level in (*ladder.bids, *ladder.asks):
        assert level.size_lots >= instrument.min_lots(level.price_ticks), (level, instrument)
    max_lots = quoter.params.max_inventory_lots
    inventory = quoter.inventory_lots
    assert sum(level.size_lots for level in ladder.bids) <= max(0, max_lots - inventory)
    assert sum(level.size_lots for level in ladder.asks) <= max(0, max_lots + inventory)


@pytest.mark.parametrize("seed", range(20))
def test_random_books_and_inventories_never_cross_break_minimums_or_limits(seed: int) -> None:
    rng = random.Random(seed)
    instrument, maker_fee_rate = rng.choice(INSTRUMENTS)
    quoter = SymbolQuoter(instrument, random_params(rng), maker_fee_rate)
    price = rng.choice([5, 100, 10_000, 1_000_000])
    now = 10**18
    for step in range(200):
        now += rng.randint(1, 2 * SECOND)
        price = max(2, price + rng.randint(-price // 100 - 2, price // 100 + 2))
        spread = rng.randint(1, 5)
        touch = Touch(price, rng.randint(0, 50), price + spread, rng.randint(0, 50), step, now)
        quoter.inventory_lots = rng.randint(-3, 3) * quoter.params.max_inventory_lots
        decision = quoter.on_touch(touch, now)
        check(decision.ladder, touch, quoter)

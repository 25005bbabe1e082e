"""The synthetic market in isolation: informed flow predicts the move, book shape, seeding."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mm_sim.book import BUY, SymbolBook
from mm_sim.market_model import MarketModel
from mm_sim.settings import MarketModelConfig


def test_informed_trades_take_the_side_of_the_next_move() -> None:
    config = MarketModelConfig(
        informed_trade_probability=1.0, uninformed_trade_probability=0.0, volatility_ticks=3.0
    )
    model = MarketModel(config, "BTCUSDT", 600_000, seed=5)
    checked = 0
    for _ in range(300):
        before = model.mid_ticks
        intents = model.trades_before_move()
        model.move()
        if model.mid_ticks == before:
            continue
        [intent] = intents
        assert intent.informed
        assert (intent.side == BUY) == (model.mid_ticks > before)
        checked += 1
    assert checked > 250


def test_uninformed_flow_is_uncorrelated_and_book_is_consistent() -> None:
    config = MarketModelConfig(
        informed_trade_probability=0.0, uninformed_trade_probability=1.0, levels=50
    )
    model = MarketModel(config, "BTCUSDT", 600_000, seed=5)
    book = SymbolBook()
    agree = 0
    for _ in range(400):
        before = model.mid_ticks
        [intent] = model.trades_before_move()
        assert not intent.informed
        model.move()
        model.reshape(book)
        agree += (intent.side == BUY) == (model.mid_ticks > before)
        assert len(book.bids) == len(book.asks) == 50
        assert max(book.bids) < min(book.asks)
    assert 120 < agree < 280


def test_same_seed_same_path_different_seed_different_path() -> None:
    def path(seed: int) -> list[float]:
        model = MarketModel(MarketModelConfig(), "BTCUSDT", 600_000, seed=seed)
        mids = []
        for _ in range(100):
            model.trades_before_move()
            model.move()
            mids.append(model.mid_ticks)
        return mids

    assert path(1) == path(1)
    assert path(1) != path(2)


def test_jumps_and_drift_move_the_mid() -> None:
    config = MarketModelConfig(volatility_ticks=0.0, drift_ticks=2.0, jump_probability=0.0)
    model = MarketModel(config, "BTCUSDT", 600_000, seed=1)
    for _ in range(10):
        model.move()
    assert model.mid_ticks == 600_020
    jumpy = MarketModel(
        MarketModelConfig(volatility_ticks=0.0, jump_probability=1.0, jump_ticks=50.0),
        "BTCUSDT",
        600_000,
        seed=1,
    )
    jumpy.move()
    assert abs(jumpy.mid_ticks - 600_000) == 50


def test_default_informed_flow_is_the_model_before_its_strength_fields() -> None:
    def path(**fields: float) -> list[tuple[float, int]]:
        config = MarketModelConfig(informed_trade_probability=0.5, **fields)
        model = MarketModel(config, "ETHUSDT", 300_000, seed=3)
        seen = []
        for _ in range(200):
            lots = sum(intent.lots for intent in model.trades_before_move())
            model.move()
            seen.append((model.mid_ticks, lots))
        return seen

    same = path(informed_trade_size_lots=0, informed_impact_ticks=0.0, informed_impact_steps=7)
    assert path() == same


def test_informed_trades_are_larger_when_their_size_is_set() -> None:
    config = MarketModelConfig(
        informed_trade_probability=0.5,
        uninformed_trade_probability=0.5,
        trade_size_lots=100,
        informed_trade_size_lots=3000,
    )
    model = MarketModel(config, "ETHUSDT", 300_000, seed=4)
    sizes: dict[bool, list[int]] = {True: [], False: []}
    for _ in range(2000):
        for intent in model.trades_before_move():
            sizes[intent.informed].append(intent.lots)
        model.move()
    informed = sum(sizes[True]) / len(sizes[True])
    uninformed = sum(sizes[False]) / len(sizes[False])
    assert 2400 < informed < 3600
    assert 80 < uninformed < 120


def test_an_informed_trade_moves_the_mid_its_way_over_the_impact_steps_for_good() -> None:
    config = MarketModelConfig(
        volatility_ticks=0.0,
        drift_ticks=1.0,  # every pending move is up, so an informed trader buys
        jump_probability=0.0,
        informed_trade_probability=1.0,
        uninformed_trade_probability=0.0,
        informed_impact_ticks=30.0,
        informed_impact_steps=10,
    )
    model = MarketModel(config, "ETHUSDT", 300_000, seed=2)
    [intent] = model.trades_before_move()
    assert intent.side == BUY
    assert intent.informed
    model.config = config.model_copy(update={"informed_trade_probability": 0.0})
    mids = []
    for _ in range(40):
        model.move()
        model.trades_before_move()
        mids.append(model.mid_ticks)
    steps = [after - before for before, after in zip([300_000.0, *mids], mids, strict=False)]
    assert steps[:10] == [4.0] * 10  # the drift's 1 tick and 3 of the trade's 30 each step
    assert steps[10:] == [1.0] * 30  # then the drift alone: the move stays, nothing reverts
    assert mids[-1] == 300_000 + 40 + 30


def test_opposite_informed_impacts_overlap_and_leave_no_residue() -> None:
    config = MarketModelConfig(
        volatility_ticks=1.0,
        jump_probability=0.0,
        informed_trade_probability=1.0,
        uninformed_trade_probability=0.0,
        informed_impact_ticks=7.0,
        informed_impact_steps=3,
    )
    model = MarketModel(config, "ETHUSDT", 300_000, seed=9)
    for _ in range(500):
        model.trades_before_move()
        model.move()
    model.config = config.model_copy(
        update={"informed_trade_probability": 0.0, "volatility_ticks": 0.0}
    )
    model._pending_move = 0.0
    for _ in range(3):
        model.trades_before_move()
        model.move()
    settled = model.mid_ticks
    model.trades_before_move()
    model.move()
    assert model.mid_ticks == settled


@pytest.mark.parametrize(
    "field",
    [
        {"informed_trade_size_lots": -1},
        {"informed_impact_ticks": float("nan")},
        {"informed_impact_ticks": 1e300},
        {"informed_impact_steps": 0},
    ],
)
def test_an_absurd_informed_strength_is_refused_at_start(field: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        MarketModelConfig(**field)

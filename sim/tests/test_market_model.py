"""The synthetic market in isolation: informed flow predicts the move, book shape, seeding."""

from __future__ import annotations

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

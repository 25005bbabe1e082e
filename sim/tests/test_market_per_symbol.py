"""Per-instrument market models: an instrument's `market` fields over the global one, validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mm_sim.clock import ManualClock
from mm_sim.exchange import Exchange
from mm_sim.settings import InstrumentConfig, MarketModelConfig, SimSettings, default_instruments

TOXIC = {"informed_trade_probability": 1.0, "uninformed_trade_probability": 0.0}
BENIGN = {"informed_trade_probability": 0.0, "uninformed_trade_probability": 1.0}


def two_flows(**common: float) -> SimSettings:
    btc, eth, spot = default_instruments()
    btc = btc.model_copy(update={"market": TOXIC})
    eth = eth.model_copy(update={"market": {**BENIGN, "trade_size_lots": 7}})
    return SimSettings(instruments=[btc, eth, spot], market=MarketModelConfig(**common))


def share_of_trades_ahead_of_the_move(exchange: Exchange, key: tuple[str, str]) -> float:
    """Of the steps with a market trade and a mid move, the share whose taker side the move took."""
    state = exchange.symbols[key]
    agree = counted = 0
    for _ in range(400):
        before_mid, before_volume = state.model.mid_ticks, state.volume_lots
        exchange.step()
        if state.volume_lots == before_volume or state.model.mid_ticks == before_mid:
            continue
        counted += 1
        agree += (state.recent_trades[0]["S"] == "Buy") == (state.model.mid_ticks > before_mid)
    assert counted > 300
    return agree / counted


def test_two_instruments_trade_with_their_own_flow() -> None:
    exchange = Exchange(two_flows(levels=20), ManualClock(0))
    toxic = share_of_trades_ahead_of_the_move(exchange, ("linear", "BTCUSDT"))
    benign = share_of_trades_ahead_of_the_move(exchange, ("linear", "ETHUSDT"))
    assert toxic == 1.0  # every trade knew the next move
    assert 0.35 < benign < 0.65  # a coin flip


def test_an_instruments_fields_override_only_themselves() -> None:
    settings = two_flows(volatility_ticks=4.0, levels=20)
    btc, eth, spot = (config.market_model(settings.market) for config in settings.instruments)
    assert (btc.informed_trade_probability, btc.uninformed_trade_probability) == (1.0, 0.0)
    assert (eth.trade_size_lots, eth.informed_trade_probability) == (7, 0.0)
    assert btc.volatility_ticks == eth.volatility_ticks == 4.0  # not overridden: the global value
    assert eth.trade_size_lots != btc.trade_size_lots == 100
    assert spot == settings.market  # no override: exactly the global model


def test_without_overrides_every_symbol_runs_the_global_model() -> None:
    exchange = Exchange(SimSettings(market=MarketModelConfig(jump_ticks=3.0)), ManualClock(0))
    configs = [state.model.config for state in exchange.symbols.values()]
    assert len(configs) == 3
    assert all(config == MarketModelConfig(jump_ticks=3.0) for config in configs)


def test_an_override_as_json_text_from_the_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "MM_SIM_INSTRUMENTS",
        '[{"symbol": "BTCUSDT", "base_coin": "BTC",'
        ' "market": {"informed_trade_probability": "0.5"}}]',
    )
    [btc] = SimSettings().instruments
    assert btc.market == {"informed_trade_probability": 0.5}


@pytest.mark.parametrize(
    ("market", "complaint"),
    [
        ({"informed_trade_probability": 1.5}, "less than or equal to 1"),
        ({"uninformed_trade_probability": -0.1}, "greater than or equal to 0"),
        ({"trade_size_lots": 0}, "greater than 0"),
        ({"drift_ticks": float("nan")}, "finite number"),
        ({"trade_size_lots": "many"}, "valid integer"),
        ({"step_interval_ms": 50}, "cannot be set per instrument"),
        ({"auto_step": False}, "cannot be set per instrument"),
        ({"informed_probability": 0.5}, "cannot be set per instrument"),
    ],
)
def test_a_bad_override_is_refused_with_the_field_named(
    market: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        InstrumentConfig(symbol="BTCUSDT", base_coin="BTC", market=market)

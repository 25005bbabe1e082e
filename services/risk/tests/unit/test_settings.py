"""Risk settings refuse instruments that cannot be subject tokens or grids that are not positive."""

from __future__ import annotations

import pytest

from mm_runtime.settings import SettingsError, load_settings
from risk.settings import RiskSettings


def test_symbols_come_comma_separated_and_explicit_grids_add_theirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISK_SYMBOLS", "BTCUSDT, ETHUSDT")
    grid = {"SOLUSDT": {"tick_size": "0.01", "lot_size": "0.1"}}
    settings = load_settings(RiskSettings, instruments=grid)
    assert settings.all_symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert (settings.venue, settings.category) == ("bybit", "linear")


def test_a_symbol_with_a_dot_is_refused_naming_the_problem() -> None:
    with pytest.raises(SettingsError, match="must not contain '\\.'"):
        load_settings(RiskSettings, instruments={"BTC.USDT": {"tick_size": "0.1", "lot_size": "1"}})


def test_a_zero_tick_size_and_an_empty_instrument_list_are_refused() -> None:
    with pytest.raises(SettingsError, match="TICK_SIZE"):
        load_settings(RiskSettings, instruments={"BTCUSDT": {"tick_size": "0", "lot_size": "1"}})
    with pytest.raises(SettingsError, match="at least one symbol"):
        load_settings(RiskSettings)

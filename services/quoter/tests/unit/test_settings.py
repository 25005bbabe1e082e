"""QuoterSettings from the environment: instruments as JSON, refusals that name the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from mm_runtime.settings import SettingsError, load_settings
from quoter.settings import QuoterSettings

BTC = {"symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001", "maker_fee_rate": "-0.0001"}


def test_instruments_and_params_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTER_INSTRUMENTS", json.dumps([BTC]))
    monkeypatch.setenv("QUOTER_PARAMS__LEVELS", "3")
    settings = load_settings(QuoterSettings)
    grid = settings.instruments[0].grid("BTCUSDT")
    assert (grid.tick_size, grid.lot_size, settings.maker_fee_rates()["BTCUSDT"]) == (
        Decimal("0.1"),
        Decimal("0.001"),
        -0.0001,
    )
    assert settings.params.levels == 3


def test_symbols_alone_are_quoted_once_the_gateway_defines_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUOTER_SYMBOLS", "ETHUSDT, BTCUSDT")
    monkeypatch.setenv("QUOTER_MAKER_FEE_RATE", "-0.00005")
    settings = load_settings(QuoterSettings, instruments=[BTC])
    assert settings.quoted_symbols() == ["BTCUSDT", "ETHUSDT"]
    assert list(settings.known_instruments()) == ["BTCUSDT"]
    assert settings.maker_fee_rates() == {"BTCUSDT": -0.0001, "ETHUSDT": -0.00005}


def test_nothing_to_quote_is_refused() -> None:
    with pytest.raises(SettingsError, match="symbols or instruments"):
        load_settings(QuoterSettings)


@pytest.mark.parametrize(
    ("instruments", "field"),
    [
        ([BTC, BTC], "QUOTER_INSTRUMENTS"),
        ([{**BTC, "symbol": "BTC.USDT"}], "QUOTER_INSTRUMENTS__0__SYMBOL"),
        ([{**BTC, "tick_size": "0"}], "QUOTER_INSTRUMENTS__0__TICK_SIZE"),
        ([{**BTC, "maker_fee_rate": "0.5"}], "QUOTER_INSTRUMENTS__0__MAKER_FEE_RATE"),
    ],
)
def test_bad_instruments_are_refused_naming_the_field(
    instruments: list[dict[str, str]], field: str
) -> None:
    with pytest.raises(SettingsError, match=field):
        load_settings(QuoterSettings, instruments=instruments)


def test_running_without_symbols_exits_2_naming_the_setting() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("QUOTER_")}
    result = subprocess.run(
        [sys.executable, "-m", "quoter"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "symbols or instruments" in result.stderr

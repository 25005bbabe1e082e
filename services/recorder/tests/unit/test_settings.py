"""RecorderSettings refuse what cannot be recorded, naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from recorder.settings import RecorderSettings


def settings(**values: object) -> RecorderSettings:
    return RecorderSettings.model_validate({"symbols": ["BTCUSDT"], **values})


def test_the_default_topics_are_what_a_backtest_needs() -> None:
    assert settings().venue_topics == {
        "orderbook.50.BTCUSDT": "BTCUSDT",
        "orderbook.1.BTCUSDT": "BTCUSDT",
        "publicTrade.BTCUSDT": "BTCUSDT",
        "tickers.BTCUSDT": "BTCUSDT",
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"topics": ["orderbook.7"]}, "topics"),
        ({"bus_subjects": ["ctl.risk.*"]}, "bus_subjects"),
        ({"symbols": ["BTC.USDT"]}, "symbols"),
        ({"symbols": []}, "symbols"),
        ({"venue": {"ws_url": "http://x"}}, "ws_url"),
        ({"flush_interval_s": 0}, "flush_interval_s"),
        ({"budget_bytes": -1}, "budget_bytes"),
    ],
)
def test_settings_that_cannot_record_are_refused_with_the_field(
    values: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        RecorderSettings.model_validate({"symbols": ["BTCUSDT"], **values})

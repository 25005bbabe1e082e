"""A small synthetic recording (the simulator's seeded market) shared by the backtest tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mm_backtest.synthetic import instrument, write_recording

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture
def document() -> dict[str, Any]:
    """Parameters that trade on the synthetic market: a rebate, a tight spread, small size."""
    return {
        "instruments": [
            instrument(name, index).model_dump(mode="json") for index, name in enumerate(SYMBOLS)
        ],
        "venue": {"maker_fee_rate": "-0.00005"},
        "quoter": {
            "min_spread_bps": 0.05,
            "k_vola_spread": 0,
            "level_size_lots": 10,
            "max_inventory_lots": 100,
        },
    }


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of two symbols at 20 book steps a second, with trades big enough to reach us."""
    out = tmp_path_factory.mktemp("recording")
    configs = [instrument(name, index) for index, name in enumerate(SYMBOLS)]
    write_recording(out, configs, 20, 20, volatility_ticks=4, trade_size_lots=400)
    return out

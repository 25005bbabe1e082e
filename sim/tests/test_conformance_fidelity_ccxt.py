"""Conformance through ccxt (async, unmodified) for paging, filters, conditional fields, position
settings, spot codes and unknown symbols/paths: what a ccxt user gets must be what Bybit gives.

ccxt is pointed at the simulator as in `test_conformance_ccxt.py` (every `urls['api']` entry is
the sim's base URL, markets limited to spot and linear, the UTA probe skipped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt
import pytest

from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
)

LINEAR = "BTC/USDT:USDT"


@pytest.fixture
async def exchange(busy_sim: SimulatorHandle) -> AsyncIterator[Any]:
    client = ccxt.bybit(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "options": {
                "fetchMarkets": {"types": ["spot", "linear"]},
                "enableUnifiedMargin": False,
                "enableUnifiedAccount": True,
                "unifiedMarginStatus": 6,
            },
        }
    )
    client.has["fetchCurrencies"] = False
    client.urls["api"] = {name: busy_sim.rest_url for name in client.urls["api"]}
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


async def test_fetch_open_orders_paginates_past_one_page(exchange: Any) -> None:
    for number in range(55):
        await exchange.create_order(LINEAR, "limit", "buy", 0.001, 59000 - number)
    first = await exchange.fetch_open_orders(LINEAR)
    assert len(first) == 20  # one page at Bybit's default limit
    every = await exchange.fetch_open_orders(LINEAR, None, None, {"paginate": True})
    assert len({order["id"] for order in every}) == 55


async def test_fetch_order_trades_returns_only_that_orders_fills(exchange: Any) -> None:
    first = await exchange.create_order(LINEAR, "market", "buy", 0.002)
    second = await exchange.create_order(LINEAR, "market", "buy", 0.003)
    trades = await exchange.fetch_order_trades(first["id"], LINEAR)
    assert trades
    assert {trade["order"] for trade in trades} == {first["id"]}
    assert sum(trade["amount"] for trade in trades) == pytest.approx(0.002)
    mine = await exchange.fetch_my_trades(LINEAR)
    assert {trade["order"] for trade in mine} == {first["id"], second["id"]}


async def test_fetch_closed_orders_returns_filled_orders_only(exchange: Any) -> None:
    resting = await exchange.create_order(LINEAR, "limit", "buy", 0.001, 59000)
    await exchange.cancel_order(resting["id"], LINEAR)
    filled = await exchange.create_order(LINEAR, "market", "buy", 0.001)
    closed = await exchange.fetch_closed_orders(LINEAR)
    assert [order["id"] for order in closed] == [filled["id"]]
    canceled = await exchange.fetch_canceled_orders(LINEAR)
    assert [order["id"] for order in canceled] == [resting["id"]]


async def test_conditional_orders_are_refused(exchange: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="10001"):
        await exchange.create_order(
            LINEAR,
            "limit",
            "buy",
            0.001,
            59000,
            {"triggerPrice": 61000, "triggerDirection": "ascending"},
        )
    with pytest.raises(ccxt.BadRequest, match="10001"):
        await exchange.create_order(
            LINEAR, "limit", "buy", 0.001, 59000, {"stopLoss": {"triggerPrice": 55000}}
        )
    assert await exchange.fetch_open_orders(LINEAR) == []


async def test_leverage_and_position_mode_answer_with_bybits_codes(exchange: Any) -> None:
    await exchange.set_leverage(3, LINEAR)
    with pytest.raises(ccxt.BadRequest, match="110043"):
        await exchange.set_leverage(3, LINEAR)
    with pytest.raises(ccxt.NoChange, match="110025"):
        await exchange.set_position_mode(False, LINEAR)
    await exchange.create_order(LINEAR, "market", "buy", 0.001)
    await exchange.create_order(LINEAR, "market", "sell", 0.001, None, {"reduceOnly": True})
    history = await exchange.fetch_positions_history([LINEAR])
    assert len(history) == 1
    assert history[0]["symbol"] == LINEAR


async def test_spot_refusals_map_to_invalid_order(exchange: Any) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="170136"):
        await exchange.create_order("BTC/USDT", "limit", "buy", 0.00001, 59000)
    with pytest.raises(ccxt.InvalidOrder, match="170193"):
        await exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 90000)


async def test_unknown_symbols_and_paths_are_exchange_errors_not_network_errors(
    exchange: Any,
) -> None:
    with pytest.raises(ccxt.BadSymbol):
        await exchange.public_get_v5_market_tickers({"category": "linear", "symbol": "NOPEUSDT"})
    with pytest.raises(ccxt.BadRequest, match="10017"):
        await exchange.private_get_v5_user_query_api()

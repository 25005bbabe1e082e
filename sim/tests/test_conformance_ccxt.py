"""Conformance: `ccxt` (async, unmodified) loads markets, trades and reads the account on the sim.

How ccxt is pointed at the simulator: `exchange.urls['api']` is a dict of host templates
(`spot`, `futures`, `v2`, `public`, `private`); the test replaces every entry with the sim's base
URL (a documented ccxt practice for custom hosts). Options that stop ccxt from calling endpoints
the simulator does not serve, each set through ccxt's public `options` / `has`:
- `options['fetchMarkets'] = {'types': ['spot', 'linear']}` (no inverse or option markets here);
- `has['fetchCurrencies'] = False` (skips signed `/v5/asset/coin/query-info` during load_markets);
- `enableUnifiedMargin=False`, `enableUnifiedAccount=True`, `unifiedMarginStatus=6` (what ccxt
  itself assumes in demo trading), which skips `/v5/user/query-api` and `/v5/account/info`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt
import pytest

from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle


@pytest.fixture
async def exchange(sim: SimulatorHandle) -> AsyncIterator[Any]:
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
    client.urls["api"] = {name: sim.rest_url for name in client.urls["api"]}
    try:
        yield client
    finally:
        await client.close()


async def test_ccxt_markets_book_ticker(exchange: Any) -> None:
    markets = await exchange.load_markets()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USDT"} <= set(markets)
    linear = markets["BTC/USDT:USDT"]
    assert linear["precision"]["price"] == 0.1
    assert linear["precision"]["amount"] == 0.001
    book = await exchange.fetch_order_book("BTC/USDT:USDT", limit=5)
    assert len(book["bids"]) == 5
    assert book["bids"][0][0] < book["asks"][0][0]
    ticker = await exchange.fetch_ticker("BTC/USDT:USDT")
    assert ticker["bid"] is not None
    assert ticker["ask"] is not None
    spot = await exchange.fetch_order_book("BTC/USDT", limit=1)
    assert len(spot["bids"]) == 1
    await exchange.fetch_trades("BTC/USDT:USDT", limit=5)
    await exchange.fetch_time()


async def test_ccxt_orders_positions_balance(exchange: Any, sim: SimulatorHandle) -> None:
    await exchange.load_markets()
    order = await exchange.create_order(
        "BTC/USDT:USDT",
        "limit",
        "buy",
        0.01,
        59000,
        {"timeInForce": "PO", "clientOrderId": "ccxt-1"},
    )
    assert order["id"]
    edited = await exchange.edit_order(order["id"], "BTC/USDT:USDT", "limit", "buy", 0.01, 58990)
    assert edited["id"] == order["id"]
    fetched = await exchange.fetch_open_order(order["id"], "BTC/USDT:USDT")
    assert (fetched["price"], fetched["amount"], fetched["status"]) == (58990, 0.01, "open")
    open_orders = await exchange.fetch_open_orders("BTC/USDT:USDT")
    assert [o["clientOrderId"] for o in open_orders] == ["ccxt-1"]
    await exchange.cancel_order(order["id"], "BTC/USDT:USDT")
    assert await exchange.fetch_open_orders("BTC/USDT:USDT") == []
    await exchange.create_order("BTC/USDT:USDT", "market", "buy", 0.005)
    positions = await exchange.fetch_positions(["BTC/USDT:USDT"])
    assert positions[0]["contracts"] == 0.005
    assert positions[0]["side"] == "long"
    balance = await exchange.fetch_balance()
    assert 0 < balance["USDT"]["total"] < 100000
    await exchange.create_order(
        "BTC/USDT:USDT", "limit", "buy", 0.01, 59000, {"clientOrderId": "ccxt-dup"}
    )
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        await exchange.create_order(
            "BTC/USDT:USDT", "limit", "buy", 0.01, 59000, {"clientOrderId": "ccxt-dup"}
        )


async def test_ccxt_bad_key_is_authentication_error(sim: SimulatorHandle) -> None:
    client = ccxt.bybit(
        {
            "apiKey": API_KEY,
            "secret": "wrong",
            "options": {
                "fetchMarkets": {"types": ["linear"]},
                "enableUnifiedMargin": False,
                "enableUnifiedAccount": True,
                "unifiedMarginStatus": 6,
            },
        }
    )
    client.has["fetchCurrencies"] = False
    client.urls["api"] = {name: sim.rest_url for name in client.urls["api"]}
    try:
        await client.load_markets()
        with pytest.raises(ccxt.AuthenticationError):
            await client.fetch_open_orders("BTC/USDT:USDT")
    finally:
        await client.close()


async def test_ccxt_pro_public_and_private_websockets(sim: SimulatorHandle) -> None:
    import asyncio

    import ccxt.pro as ccxt_pro

    client = ccxt_pro.bybit(
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
    ws_urls = client.urls["api"]["ws"]
    client.urls["api"] = {name: sim.rest_url for name in client.urls["api"] if name != "ws"}
    client.urls["api"]["ws"] = ws_urls | {
        "public": {"spot": sim.ws_public_url("spot"), "linear": sim.ws_public_url("linear")},
        "private": {"spot": {"unified": sim.ws_private_url}, "contract": sim.ws_private_url},
    }
    try:
        await client.load_markets()
        book = await client.watch_order_book("BTC/USDT:USDT", 50)
        assert len(book["bids"]) == 50
        await sim.admin.step(20)
        expected = await sim.admin.book("BTCUSDT", depth=50)
        wanted = (
            [[float(p), float(s)] for p, s in expected["b"]],
            [[float(p), float(s)] for p, s in expected["a"]],
        )
        # ccxt applies the deltas itself (it does not track `u`): read until its book is the sim's.
        while (
            [list(level) for level in book["bids"]],
            [list(level) for level in book["asks"]],
        ) != wanted:
            book = await asyncio.wait_for(client.watch_order_book("BTC/USDT:USDT", 50), 5)
        orders_task = asyncio.ensure_future(client.watch_orders("BTC/USDT:USDT"))
        await asyncio.sleep(0.2)
        await client.create_order("BTC/USDT:USDT", "limit", "sell", 0.01, 70000)
        orders = await asyncio.wait_for(orders_task, 5)
        assert orders[0]["status"] == "open"
        assert orders[0]["price"] == 70000
    finally:
        await client.close()

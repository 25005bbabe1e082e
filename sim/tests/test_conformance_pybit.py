"""Conformance: the official `pybit` SDK, unmodified, drives the simulator over real sockets.

How pybit is pointed at the simulator (it has no public option for a custom host):
- REST: `pybit.unified_trading.HTTP` builds `self.endpoint` from testnet/domain/tld in
  `__post_init__`; the test overwrites the instance attribute `endpoint` with the sim's base URL.
  Everything else (signing, headers, retries, error mapping) is pybit's own code.
- WebSockets: `WebSocket` / `WebSocketTrading` build their URL and connect inside the constructor
  via `_connect(url)`; the test subclasses them and overrides `_connect` to pass the sim's URL on
  (pybit's `url.format(...)` leaves a brace-free URL unchanged).
pybit is synchronous (requests, websocket-client threads), so its calls run in worker threads
while the simulator serves on the test's event loop.

pybit registers a request's id only after sending it (`subscribe` stores `req_id`, the trade WS
stores the callback, both after `ws.send`), so a reply that arrives within microseconds is
dropped by its reader thread with a KeyError. Bybit is never that close; the WebSocket tests run
the simulator with `ws_latency_ms=20` (a one-way delay on every WS message) to model it.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP, WebSocket, WebSocketTrading

from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
    running_simulator,
    simulator_settings,
)


@pytest.fixture
async def remote_sim() -> AsyncIterator[SimulatorHandle]:
    """A simulator whose WebSocket replies take 20 ms, as from a remote venue."""
    async with running_simulator(simulator_settings(ws_latency_ms=20)) as handle:
        yield handle


def http_session(sim: SimulatorHandle) -> HTTP:
    session = HTTP(testnet=False, api_key=API_KEY, api_secret=API_SECRET, max_retries=1)
    session.endpoint = sim.rest_url
    return session


def redirected(base: type[Any], url: str) -> type[Any]:
    class Redirected(base):  # type: ignore[misc, valid-type]
        def _connect(self, _url: str) -> None:
            super()._connect(url)

    return Redirected


async def next_item(
    items: queue.Queue[dict[str, Any]], accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    while True:
        item = await asyncio.to_thread(items.get, True, 5.0)
        if accept(item):
            return item


async def test_pybit_rest_orders_positions_wallet_instruments(sim: SimulatorHandle) -> None:
    session = http_session(sim)
    call = asyncio.to_thread
    info = await call(session.get_instruments_info, category="linear", symbol="BTCUSDT")
    assert info["result"]["list"][0]["lotSizeFilter"]["qtyStep"] == "0.001"
    book = await call(session.get_orderbook, category="linear", symbol="BTCUSDT", limit=5)
    assert len(book["result"]["b"]) == 5
    await call(session.get_tickers, category="linear", symbol="BTCUSDT")
    await call(session.get_server_time)
    placed = await call(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.010",
        price="59000.0",
        timeInForce="PostOnly",
        orderLinkId="pybit-1",
    )
    order_id = placed["result"]["orderId"]
    amended = await call(
        session.amend_order, category="linear", symbol="BTCUSDT", orderId=order_id, price="58999.0"
    )
    assert amended["result"]["orderId"] == order_id
    open_orders = await call(session.get_open_orders, category="linear", symbol="BTCUSDT")
    assert open_orders["result"]["list"][0]["price"] == "58999.00"
    with pytest.raises(InvalidRequestError) as duplicate:
        await call(
            session.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Limit",
            qty="0.010",
            price="59000.0",
            orderLinkId="pybit-1",
        )
    assert duplicate.value.status_code == 110072
    await call(session.cancel_order, category="linear", symbol="BTCUSDT", orderId=order_id)
    await call(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Market",
        qty="0.005",
    )
    positions = await call(session.get_positions, category="linear", symbol="BTCUSDT")
    assert positions["result"]["list"][0]["size"] == "0.005"
    wallet = await call(session.get_wallet_balance, accountType="UNIFIED", coin="USDT")
    assert Decimal(wallet["result"]["list"][0]["coin"][0]["walletBalance"]) < Decimal("100000")
    batch = await call(
        session.place_batch_order,
        category="linear",
        request=[
            {
                "symbol": "BTCUSDT",
                "side": "Sell",
                "orderType": "Limit",
                "qty": "0.010",
                "price": "70000.0",
            }
        ],
    )
    assert batch["retExtInfo"]["list"][0]["code"] == 0
    cancelled = await call(session.cancel_all_orders, category="linear", symbol="BTCUSDT")
    assert len(cancelled["result"]["list"]) == 1
    fee = await call(session.get_fee_rates, category="linear", symbol="BTCUSDT")
    assert fee["result"]["list"][0]["makerFeeRate"] == "0.0002"


async def test_pybit_signature_errors_surface_as_bybit_codes(sim: SimulatorHandle) -> None:
    session = HTTP(testnet=False, api_key=API_KEY, api_secret="wrong-secret", max_retries=1)
    session.endpoint = sim.rest_url
    with pytest.raises(InvalidRequestError) as error:
        await asyncio.to_thread(session.get_open_orders, category="linear", symbol="BTCUSDT")
    assert error.value.status_code == 10004


async def test_pybit_public_and_private_websockets(remote_sim: SimulatorHandle) -> None:
    sim = remote_sim
    items: queue.Queue[dict[str, Any]] = queue.Queue()
    public_class = redirected(WebSocket, sim.ws_public_url("linear"))
    private_class = redirected(WebSocket, sim.ws_private_url)
    public = await asyncio.to_thread(public_class, channel_type="linear", testnet=False)
    private = await asyncio.to_thread(
        private_class, channel_type="private", testnet=False, api_key=API_KEY, api_secret=API_SECRET
    )
    try:
        await asyncio.to_thread(public.orderbook_stream, 50, "BTCUSDT", items.put)
        await asyncio.to_thread(public.trade_stream, "BTCUSDT", items.put)
        await asyncio.to_thread(private.order_stream, items.put)
        await asyncio.to_thread(private.execution_stream, items.put)
        snapshot = await next_item(
            items, lambda m: m.get("type") == "snapshot" and "orderbook" in m["topic"]
        )
        assert len(snapshot["data"]["b"]) == 50
        await sim.admin.step(20)
        expected = await sim.admin.book("BTCUSDT", depth=50)
        merged = await next_item(
            items, lambda m: "orderbook" in m["topic"] and m["data"]["u"] == expected["u"]
        )
        # pybit applied every delta itself; its book must equal the simulator's at the same u.
        bids = sorted(merged["data"]["b"], key=lambda level: -float(level[0]))
        asks = sorted(merged["data"]["a"], key=lambda level: float(level[0]))
        assert (bids, asks) == (expected["b"], expected["a"])
        session = http_session(sim)
        await asyncio.to_thread(
            session.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Market",
            qty="0.002",
        )
        seen: list[dict[str, Any]] = []

        def collect(message: dict[str, Any]) -> bool:
            seen.append(message)
            topics = {m.get("topic") for m in seen}
            return {"execution", "order"} <= topics and any(
                m.get("topic") == "publicTrade.BTCUSDT" and m["data"][0]["v"] == "0.002"
                for m in seen
            )

        await next_item(items, collect)
        execution = next(m for m in seen if m.get("topic") == "execution")
        assert execution["data"][0]["execQty"] == "0.002"
        assert execution["data"][0]["isMaker"] is False
        order = next(m for m in seen if m.get("topic") == "order")
        assert order["data"][-1]["orderStatus"] == "Filled"
    finally:
        await asyncio.to_thread(public.exit)
        await asyncio.to_thread(private.exit)


async def test_pybit_trade_websocket(remote_sim: SimulatorHandle) -> None:
    sim = remote_sim
    replies: queue.Queue[dict[str, Any]] = queue.Queue()
    trade_class = redirected(WebSocketTrading, sim.ws_trade_url)
    trading = await asyncio.to_thread(
        trade_class, testnet=False, api_key=API_KEY, api_secret=API_SECRET
    )
    try:
        for _ in range(100):
            if trading.auth:
                break
            await asyncio.sleep(0.02)
        await asyncio.to_thread(
            trading.place_order,
            replies.put,
            replies.put,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Limit",
            qty="0.010",
            price="59000.0",
            orderLinkId="pybit-ws-1",
        )
        reply = await next_item(replies, lambda m: m.get("op") == "order.create")
        assert reply["retCode"] == 0
        assert reply["data"]["orderLinkId"] == "pybit-ws-1"
        await asyncio.to_thread(
            trading.cancel_order,
            replies.put,
            replies.put,
            category="linear",
            symbol="BTCUSDT",
            orderLinkId="pybit-ws-1",
        )
        assert (await next_item(replies, lambda m: m.get("op") == "order.cancel"))["retCode"] == 0
    finally:
        await asyncio.to_thread(trading.exit)

"""Private WS over real sockets: auth, topics, order/execution/position/wallet envelopes, DCP."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from mm_sim.auth import sign
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle

TIMEOUT = 5.0


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.receive_str(), TIMEOUT)))


def auth_args(secret: str = API_SECRET) -> list[Any]:
    expires = time.time_ns() // 1_000_000 + 10_000
    return [API_KEY, expires, sign(secret, f"GET/realtime{expires}")]


async def authed(socket: aiohttp.ClientWebSocketResponse, topics: list[str]) -> None:
    await socket.send_json({"req_id": "a1", "op": "auth", "args": auth_args()})
    reply = await receive(socket)
    assert (reply["success"], reply["op"], reply["ret_msg"]) == (True, "auth", ""), reply
    await socket.send_json({"op": "subscribe", "args": topics})
    ack = await receive(socket)
    assert ack["success"] is True
    assert ack["op"] == "subscribe"


async def test_auth_failures(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await socket.send_json({"op": "subscribe", "args": ["order"]})
        assert "needs auth" in (await receive(socket))["ret_msg"]
        await socket.send_json({"op": "auth", "args": auth_args("wrong")})
        assert (await receive(socket))["success"] is False
        await socket.send_json({"op": "auth", "args": [API_KEY, 1, "x"]})
        assert (await receive(socket))["ret_msg"] == "error:request expired"
        await socket.send_json({"op": "auth", "args": "nope"})
        assert (await receive(socket))["ret_msg"] == "Params Error"
        await socket.send_json({"req_id": "100001", "op": "ping"})
        pong = await receive(socket)
        assert pong["op"] == "pong"
        assert pong["req_id"] == "100001"
        assert isinstance(pong["args"][0], str)


async def test_fill_pushes_order_execution_position_wallet(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await authed(socket, ["order", "execution", "position", "wallet"])
        reply = await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.010",
                "orderLinkId": "mk-1",
            },
        )
        assert reply["retCode"] == 0
        topics: dict[str, dict[str, Any]] = {}
        while len(topics) < 4:
            message = await receive(socket)
            topics[message["topic"]] = message
        for message in topics.values():
            assert isinstance(message["creationTime"], int)
            assert isinstance(message["id"], str)
            assert isinstance(message["data"], list)
            assert message["data"]
        order = topics["order"]["data"][-1]
        assert (order["orderLinkId"], order["orderStatus"], order["cumExecQty"]) == (
            "mk-1",
            "Filled",
            "0.010",
        )
        execution = topics["execution"]["data"][0]
        assert execution["execType"] == "Trade"
        assert execution["isMaker"] is False
        assert isinstance(execution["seq"], int)
        assert isinstance(execution["execFee"], str)
        position = topics["position"]["data"][0]
        assert position["size"] == "0.010"
        assert "entryPrice" in position
        assert "avgPrice" not in position
        assert topics["wallet"]["data"][0]["accountType"] == "UNIFIED"


async def test_categorised_topic_and_resting_order(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await authed(socket, ["order.linear"])
        await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Sell",
                "orderType": "Limit",
                "qty": "0.010",
                "price": "70000.0",
            },
        )
        message = await receive(socket)
        assert message["topic"] == "order.linear"
        assert message["data"][0]["orderStatus"] == "New"


async def test_dcp_cancels_after_window_without_connection(sim: SimulatorHandle, rest: Any) -> None:
    reply = await rest.post(
        "/v5/order/disconnected-cancel-all", {"product": "DERIVATIVES", "timeWindow": 10}
    )
    assert reply["retCode"] == 0
    bad = await rest.post(
        "/v5/order/disconnected-cancel-all", {"product": "DERIVATIVES", "timeWindow": 1}
    )
    assert bad["retCode"] == 10001
    created = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Limit",
            "qty": "0.010",
            "price": "70000.0",
        },
    )
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await authed(socket, ["dcp.future"])
    order_id = created["result"]["orderId"]
    query = {"category": "linear", "symbol": "BTCUSDT", "orderId": order_id}
    await asyncio.sleep(0.2)
    assert (await rest.get("/v5/order/realtime", query))["result"]["list"][0][
        "orderStatus"
    ] == "New"
    await sim.admin.step(0, advance_ms=10_001)
    for _ in range(100):
        row = (await rest.get("/v5/order/realtime", query))["result"]["list"][0]
        if row["orderStatus"] != "New":
            break
        await asyncio.sleep(0.02)
    assert (row["orderStatus"], row["cancelType"]) == ("Cancelled", "CancelByDCP")


async def test_execution_fast_carries_the_short_form(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await authed(socket, ["execution.fast"])
        state = sim.venue.exchange.symbols[("linear", "BTCUSDT")]
        bid = state.book.best_market("Buy")
        assert bid is not None
        state.book.set_market_level("Buy", bid, 1)
        await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.001",
                "orderLinkId": "fast-1",
                "price": state.instrument.price_text(bid),
            },
        )
        await sim.admin.trade("BTCUSDT", "Sell", "0.002")
        message = await receive(socket)
        assert message["topic"] == "execution.fast"
        [record] = message["data"]
        assert set(record) == {
            "category",
            "symbol",
            "orderId",
            "isMaker",
            "orderLinkId",
            "execId",
            "execPrice",
            "execQty",
            "side",
            "execTime",
            "seq",
        }
        assert record["isMaker"] is True
        assert record["orderLinkId"] == ""
        await socket.send_json({"op": "subscribe", "args": ["greeks"]})
        assert (await receive(socket))["success"] is False

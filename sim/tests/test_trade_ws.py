"""Trade WS over real sockets: auth reply, reqId echo, envelope with limit headers, batch."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from mm_sim.auth import sign
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle

ORDER = {
    "category": "linear",
    "symbol": "BTCUSDT",
    "side": "Buy",
    "orderType": "Limit",
    "qty": "0.010",
    "price": "59000.0",
    "timeInForce": "PostOnly",
}


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.receive_str(), 5.0)))


def header() -> dict[str, str]:
    return {"X-BAPI-TIMESTAMP": str(time.time_ns() // 1_000_000), "X-BAPI-RECV-WINDOW": "5000"}


async def login(socket: aiohttp.ClientWebSocketResponse) -> None:
    expires = time.time_ns() // 1_000_000 + 10_000
    await socket.send_json(
        {"op": "auth", "args": [API_KEY, expires, sign(API_SECRET, f"GET/realtime{expires}")]}
    )
    reply = await receive(socket)
    assert (reply["retCode"], reply["retMsg"], reply["op"]) == (
        0,
        "OK",
        "auth",
    )
    assert "connId" in reply


async def test_create_amend_cancel_with_req_id(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_trade_url) as socket:
        await socket.send_json(
            {"reqId": "early", "header": header(), "op": "order.create", "args": [ORDER]}
        )
        assert (await receive(socket))["retCode"] == 10003
        await login(socket)
        await socket.send_json(
            {
                "reqId": "c-1",
                "header": header(),
                "op": "order.create",
                "args": [ORDER | {"orderLinkId": "ws-1"}],
            }
        )
        reply = await receive(socket)
        assert (reply["reqId"], reply["retCode"], reply["op"]) == ("c-1", 0, "order.create")
        assert reply["data"]["orderLinkId"] == "ws-1"
        assert reply["retExtInfo"] == {}
        assert set(reply["header"]) >= {"X-Bapi-Limit", "X-Bapi-Limit-Status", "Traceid", "Timenow"}
        await socket.send_json(
            {
                "reqId": "a-1",
                "header": header(),
                "op": "order.amend",
                "args": [
                    {
                        "category": "linear",
                        "symbol": "BTCUSDT",
                        "orderLinkId": "ws-1",
                        "qty": "0.020",
                    }
                ],
            }
        )
        assert (await receive(socket))["retCode"] == 0
        await socket.send_json(
            {
                "reqId": "a-1",
                "header": header(),
                "op": "order.cancel",
                "args": [{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "ws-1"}],
            }
        )
        assert (await receive(socket))["retCode"] == 20006
        await socket.send_json(
            {
                "reqId": "x-1",
                "header": header(),
                "op": "order.cancel",
                "args": [{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "ws-1"}],
            }
        )
        assert (await receive(socket))["retCode"] == 0
        await socket.send_json(
            {
                "reqId": "x-2",
                "header": header(),
                "op": "order.cancel",
                "args": [{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "ws-1"}],
            }
        )
        missing = await receive(socket)
        assert (missing["retCode"], missing["reqId"]) == (110001, "x-2")


async def test_batch_and_bad_requests(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_trade_url) as socket:
        await login(socket)
        items = [
            {k: v for k, v in ORDER.items() if k != "category"} | {"orderLinkId": f"wb-{i}"}
            for i in range(2)
        ]
        await socket.send_json(
            {
                "reqId": "b-1",
                "header": header(),
                "op": "order.create-batch",
                "args": [{"category": "linear", "request": [*items, items[0]]}],
            }
        )
        reply = await receive(socket)
        assert [row["code"] for row in reply["retExtInfo"]["list"]] == [0, 0, 110072]
        assert len(reply["data"]["list"]) == 3
        await socket.send_json(
            {"reqId": "n-1", "header": header(), "op": "order.nope", "args": [{}]}
        )
        assert (await receive(socket))["retCode"] == 10404
        await socket.send_json({"reqId": "h-1", "op": "order.create", "args": [ORDER]})
        assert (await receive(socket))["retCode"] == 10001
        stale = {"X-BAPI-TIMESTAMP": str(time.time_ns() // 1_000_000 - 60_000)}
        await socket.send_json(
            {"reqId": "h-2", "header": stale, "op": "order.create", "args": [ORDER]}
        )
        assert (await receive(socket))["retCode"] == 10002
        await socket.send_json({"op": "ping"})
        pong = await receive(socket)
        assert (pong["op"], pong["retCode"]) == ("pong", 0)
        assert isinstance(pong["data"][0], str)


async def test_trade_ws_and_rest_share_the_order_quota(sim: SimulatorHandle, rest: Any) -> None:
    for index in range(9):
        reply = await rest.post("/v5/order/create", ORDER | {"orderLinkId": f"q-{index}"})
        assert reply["retCode"] == 0
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_trade_url) as socket:
        await login(socket)
        await socket.send_json(
            {
                "reqId": "q-ws",
                "header": header(),
                "op": "order.create",
                "args": [ORDER | {"orderLinkId": "q-9"}],
            }
        )
        last = await receive(socket)
        assert (last["retCode"], last["header"]["X-Bapi-Limit-Status"]) == (0, "0")
        await socket.send_json(
            {
                "reqId": "q-ws-2",
                "header": header(),
                "op": "order.create",
                "args": [ORDER | {"orderLinkId": "q-10"}],
            }
        )
        limited = await receive(socket)
        assert (limited["retCode"], limited["retMsg"]) == (10006, "Too many visits!")


async def test_a_reject_storm_refuses_trade_ws_creates_and_amends_too(
    sim: SimulatorHandle,
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_trade_url) as socket:
        await login(socket)
        await sim.admin.set_faults({"reject_storm": True})
        await socket.send_json(
            {"reqId": "s-1", "header": header(), "op": "order.create", "args": [ORDER]}
        )
        reply = await receive(socket)
        assert (reply["reqId"], reply["retCode"]) == ("s-1", 110007)
        batch = {"category": "linear", "request": [ORDER, ORDER]}
        await socket.send_json(
            {"reqId": "s-2", "header": header(), "op": "order.create-batch", "args": [batch]}
        )
        codes = [item["code"] for item in (await receive(socket))["retExtInfo"]["list"]]
        assert codes == [110007, 110007]
        await sim.admin.set_faults({"reject_storm": False})
        await socket.send_json(
            {"reqId": "s-3", "header": header(), "op": "order.create", "args": [ORDER]}
        )
        assert (await receive(socket))["retCode"] == 0

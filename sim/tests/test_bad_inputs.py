"""Malformed requests on every surface get a clear error and leave the simulator serving."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from mm_sim.testing import SimulatorHandle


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.receive_str(), 5.0)))


async def post_raw(sim: SimulatorHandle, rest: Any, path: str, payload: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.rest_url}{path}", data=payload, headers=rest.headers(payload)
        ) as response,
    ):
        assert response.status == 200
        return dict(await response.json())


async def test_rest_bad_bodies_and_params(sim: SimulatorHandle, rest: Any) -> None:
    invalid = await post_raw(sim, rest, "/v5/order/create", "{not json")
    assert invalid["retCode"] == 10001
    assert "invalid JSON" in invalid["retMsg"]
    listed = await post_raw(sim, rest, "/v5/order/create", "[1, 2]")
    assert listed["retCode"] == 10001
    assert "received list" in listed["retMsg"]
    typed = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": 1,
            "orderType": "Limit",
            "qty": "0.01",
            "price": "1",
        },
    )
    assert typed["retCode"] == 10001
    assert "side must be a string" in typed["retMsg"]
    nan = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "NaN",
            "price": "1",
        },
    )
    assert nan["retCode"] == 10001
    assert (await rest.get("/v5/market/orderbook", {"category": "inverse", "symbol": "BTCUSD"}))[
        "retCode"
    ] == 10001
    assert (
        await rest.get(
            "/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": "0"}
        )
    )["retCode"] == 10001
    assert (await rest.get("/v5/account/wallet-balance", {"accountType": "SPOT"}))[
        "retCode"
    ] == 10001
    assert (await rest.get("/v5/order/realtime", {"category": "linear"}))["retCode"] == 10001
    batch = await rest.post("/v5/order/create-batch", {"category": "linear", "request": "nope"})
    assert batch["retCode"] == 10001
    too_many = await rest.post(
        "/v5/order/create-batch", {"category": "linear", "request": [{}] * 21}
    )
    assert too_many["retCode"] == 10001
    assert "at most 20" in too_many["retMsg"]
    stamp = await rest.get(
        "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"}, timestamp="soon"
    )
    assert stamp["retCode"] == 10001
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.rest_url}/v5/market/nothing") as response:
            assert response.status == 404
        async with session.post(f"{sim.rest_url}/v5/market/time") as response:
            assert response.status == 404
    assert (await rest.get("/v5/market/time", {}))["retCode"] == 0


async def test_public_ws_bad_messages(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(sim.ws_public_url("linear")) as socket:
            for message in (
                {"op": "subscribe", "args": "orderbook.1.BTCUSDT"},
                {"op": "subscribe", "args": [1]},
                {"op": "dance"},
                {"op": "subscribe", "args": ["orderbook.7.BTCUSDT"]},
            ):
                await socket.send_json(message)
                assert (await receive(socket))["success"] is False
            await socket.send_str("[]")
            assert (await receive(socket))["success"] is False
        async with session.ws_connect(sim.ws_public_url("spot")) as socket:
            await socket.send_json(
                {"op": "subscribe", "args": [f"publicTrade.BTCUSDT{i}" for i in range(11)]}
            )
            reply = await receive(socket)
            assert reply["success"] is False
            assert "exceeds 10" in reply["ret_msg"]
            await socket.send_json({"op": "ping"})
            assert (await receive(socket))["ret_msg"] == "pong"


async def test_trade_ws_bad_messages(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_trade_url) as socket:
        await socket.send_json({"op": "auth", "args": ["sim-key"]})
        assert (await receive(socket))["retCode"] == 10001
        await socket.send_json({"reqId": "x" * 40, "op": "order.create", "args": []})
        assert (await receive(socket))["retCode"] == 10003
        await socket.send_str("nonsense")
        assert (await receive(socket))["success"] is False
        await socket.send_json({"op": "ping"})
        assert (await receive(socket))["op"] == "pong"


async def test_admin_bad_requests(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        checks = [
            ("POST", "/sim/admin/step", {"steps": -1}, 400),
            ("POST", "/sim/admin/step", {"steps": "many"}, 400),
            ("GET", "/sim/admin/book?symbol=NOPE", None, 404),
            ("GET", "/sim/admin/book?symbol=BTCUSDT&depth=7", None, 400),
            ("POST", "/sim/admin/trade", {"symbol": "BTCUSDT", "side": "Up", "qty": "1"}, 400),
            ("POST", "/sim/admin/trade", {"symbol": "BTCUSDT", "side": "Buy", "qty": "x"}, 400),
            ("GET", "/sim/admin/executions?uid=9", None, 404),
            ("POST", "/sim/admin/dcp-trigger", {"uid": "me"}, 400),
            ("POST", "/sim/admin/drop-connections", {"surface": "moon"}, 400),
        ]
        for method, path, body, status in checks:
            async with session.request(method, f"{sim.rest_url}{path}", json=body) as response:
                assert response.status == status, (path, body)
                assert await response.text()
    assert (await sim.admin.step(1))["steps"] == 1

"""One test per fault mode, each driving the simulator through the admin endpoint or settings."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import aiohttp
import pytest

from mm_sim.auth import sign
from mm_sim.settings import FaultConfig
from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
    running_simulator,
    simulator_settings,
)

ORDER = {
    "category": "linear",
    "symbol": "BTCUSDT",
    "side": "Sell",
    "orderType": "Limit",
    "qty": "0.010",
    "price": "70000.0",
}


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.receive_str(), 5.0)))


async def book_updates(
    socket: aiohttp.ClientWebSocketResponse, sim: SimulatorHandle, depth: int
) -> list[int]:
    """Step the market and return the `u` of every book message received up to the sim's latest."""
    await sim.admin.step(30)
    target = (await sim.admin.book("BTCUSDT", depth=depth))["u"]
    seen: list[int] = []
    while not seen or max(seen) < target:
        message = await receive(socket)
        if message.get("topic", "").startswith("orderbook."):
            seen.append(message["data"]["u"])
    return seen


async def subscribed(
    session: aiohttp.ClientSession, sim: SimulatorHandle, topics: list[str]
) -> Any:
    socket = await session.ws_connect(sim.ws_public_url("linear"))
    await socket.send_json({"op": "subscribe", "args": topics})
    assert (await receive(socket))["success"] is True
    for _ in [topic for topic in topics if not topic.startswith("publicTrade.")]:
        await receive(socket)
    return socket


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("skip", lambda u: any(b - a == 2 for a, b in itertools.pairwise(u))),
        ("duplicate", lambda u: any(b == a for a, b in itertools.pairwise(u))),
        ("reorder", lambda u: any(b == a - 1 for a, b in itertools.pairwise(u))),
    ],
)
async def test_book_delta_faults(sim: SimulatorHandle, mode: str, check: Any) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await subscribed(session, sim, ["orderbook.50.BTCUSDT"])
        clean = await book_updates(socket, sim, 50)
        assert all(b == a + 1 for a, b in itertools.pairwise(clean))
        await sim.admin.set_faults({"delta_fault": mode, "delta_fault_count": 1})
        faulty = await book_updates(socket, sim, 50)
        assert check(clean[-1:] + faulty), (clean[-3:], faulty)
        assert (await sim.admin.faults())["delta_fault"] == "none"
        await socket.close()


async def test_paused_topic_is_silent_then_resumes_with_gap(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await subscribed(session, sim, ["orderbook.50.BTCUSDT", "orderbook.1.BTCUSDT"])
        before = (await sim.admin.book("BTCUSDT", depth=50))["u"]
        await sim.admin.set_faults({"paused_topics": ["orderbook.50.BTCUSDT"]})
        await sim.admin.step(20)
        target = (await sim.admin.book("BTCUSDT", depth=1))["u"]
        topics: set[str] = set()
        while True:
            message = await receive(socket)
            topics.add(message["topic"])
            if message["topic"] == "orderbook.1.BTCUSDT" and message["data"]["u"] == target:
                break
        assert topics == {"orderbook.1.BTCUSDT"}
        await sim.admin.set_faults({"paused_topics": []})
        await sim.admin.step(1)
        while (message := await receive(socket))["topic"] != "orderbook.50.BTCUSDT":
            pass
        assert message["data"]["u"] > before + 1
        await socket.close()


async def test_drop_connections(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await subscribed(session, sim, ["publicTrade.BTCUSDT"])
        assert (await sim.admin.drop_connections("public"))["dropped"] == 1
        message = await asyncio.wait_for(socket.receive(), 5.0)
        assert message.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.ERROR,
        )


async def test_rest_delay(sim: SimulatorHandle) -> None:
    await sim.admin.set_faults({"rest_delay_ms": 3000})
    timeout = aiohttp.ClientTimeout(total=0.3)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(TimeoutError):
            await session.get(f"{sim.rest_url}/v5/market/time")
    await sim.admin.set_faults({"rest_delay_ms": 0})


async def test_rest_http_5xx_then_recovers(sim: SimulatorHandle) -> None:
    await sim.admin.set_faults({"rest_error": "http_5xx", "rest_error_count": 2})
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(3):
            async with session.get(f"{sim.rest_url}/v5/market/time") as response:
                statuses.append(response.status)
    assert statuses == [503, 503, 200]


async def test_rest_10016(sim: SimulatorHandle, rest: Any) -> None:
    await sim.admin.set_faults({"rest_error": "10016"})
    reply = await rest.post("/v5/order/create", ORDER)
    assert reply["retCode"] == 10016
    assert rest.last_status == 200
    await sim.admin.set_faults({"rest_error": "none"})
    assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0


async def test_faults_from_settings_at_start(rest_class: Any) -> None:
    settings = simulator_settings(faults=FaultConfig(rest_error="10016", rest_error_count=1))
    async with running_simulator(settings) as sim:
        rest = rest_class(sim.rest_url)
        assert (await rest.get("/v5/market/time", {}))["retCode"] == 10016
        assert (await rest.get("/v5/market/time", {}))["retCode"] == 0


async def test_rate_limit_storm(sim: SimulatorHandle, rest: Any) -> None:
    await sim.admin.set_faults({"rate_limit_storm": True})
    reply = await rest.post("/v5/order/create", ORDER)
    assert reply["retCode"] == 10006
    assert rest.last_headers["X-Bapi-Limit-Status"] == "0"
    await sim.admin.set_faults({"rate_limit_storm": False})
    await sim.admin.step(0, advance_ms=1000)
    assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0


async def test_a_reject_storm_refuses_every_order_create_and_amend_as_a_venue_would(
    sim: SimulatorHandle, rest: Any
) -> None:
    placed = await rest.post("/v5/order/create", ORDER | {"orderLinkId": "before-storm"})
    assert placed["retCode"] == 0
    await sim.admin.set_faults({"reject_storm": True})
    refused = await rest.post("/v5/order/create", ORDER)
    assert (refused["retCode"], refused["retMsg"]) == (110007, "ab not enough for new order")
    amend = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "before-storm"}
    assert (await rest.post("/v5/order/amend", amend | {"qty": "0.02"}))["retCode"] == 110007
    batch = await rest.post(
        "/v5/order/create-batch", {"category": "linear", "request": [ORDER, ORDER]}
    )
    assert batch["retCode"] == 0  # a batch answers per item, as Bybit's does
    assert [item["code"] for item in batch["retExtInfo"]["list"]] == [110007, 110007]
    cancel = await rest.post("/v5/order/cancel", amend)
    assert cancel["retCode"] == 0  # cancels still work: only new risk is refused
    await sim.admin.set_faults({"reject_storm": False})
    assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0


async def private_socket(
    session: aiohttp.ClientSession, sim: SimulatorHandle, topics: list[str]
) -> Any:
    socket = await session.ws_connect(sim.ws_private_url)
    expires = time.time_ns() // 1_000_000 + 10_000
    await socket.send_json(
        {"op": "auth", "args": [API_KEY, expires, sign(API_SECRET, f"GET/realtime{expires}")]}
    )
    assert (await receive(socket))["success"] is True
    await socket.send_json({"op": "subscribe", "args": topics})
    assert (await receive(socket))["success"] is True
    return socket


async def test_private_silence(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await private_socket(session, sim, ["order"])
        await sim.admin.set_faults({"private_silence": True})
        assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0
        await socket.send_json({"req_id": "still-alive", "op": "ping"})
        assert (await receive(socket))["req_id"] == "still-alive"
        await sim.admin.set_faults({"private_silence": False})
        assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0
        message = await receive(socket)
        assert message["topic"] == "order"
        assert len(message["data"]) == 1
        await socket.close()


async def test_dcp_trigger(sim: SimulatorHandle, rest: Any) -> None:
    async with aiohttp.ClientSession() as session:
        socket = await private_socket(session, sim, ["order", "dcp.future"])
        assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 0
        assert (await receive(socket))["data"][0]["orderStatus"] == "New"
        assert (await sim.admin.trigger_dcp(1001))["cancelled"] == 1
        cancelled = (await receive(socket))["data"][0]
        assert (cancelled["orderStatus"], cancelled["cancelType"]) == ("Cancelled", "CancelByDCP")
        await socket.close()


async def test_bad_fault_requests_are_refused(sim: SimulatorHandle) -> None:
    async with aiohttp.ClientSession() as session:
        for body in ({"nonsense": 1}, {"rest_error": "sometimes"}, {"rest_delay_ms": -5}):
            async with session.post(f"{sim.rest_url}/sim/admin/faults", json=body) as response:
                assert response.status == 400
                assert "expected" in (await response.text()) or "invalid" in (await response.text())
    assert (await sim.admin.faults())["rest_error"] == "none"

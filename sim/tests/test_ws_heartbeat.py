"""The venue's heartbeat rule over real sockets: a private or trade connection that sends no ping
for the timeout is closed, and DCP then cancels the account's orders after its window."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from mm_runtime.testing import eventually
from mm_sim.auth import sign
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import API_KEY, API_SECRET, running_simulator

PING_TIMEOUT_S = 1.0


def real_clock() -> SimSettings:
    """Socket silence and DCP windows on the real clock, a market that moves only when told."""
    market = MarketModelConfig(auto_step=False)
    return SimSettings(port=0, market=market, ws_ping_timeout_s=PING_TIMEOUT_S)


def auth_args() -> list[Any]:
    expires = time.time_ns() // 1_000_000 + 10_000
    return [API_KEY, expires, sign(API_SECRET, f"GET/realtime{expires}")]


async def authed(socket: aiohttp.ClientWebSocketResponse, topics: list[str]) -> None:
    await socket.send_json({"op": "auth", "args": auth_args()})
    assert (await socket.receive_json(timeout=5))["success"] is True
    await socket.send_json({"op": "subscribe", "args": topics})
    assert (await socket.receive_json(timeout=5))["success"] is True


async def _order_status(rest: Any, order_id: str) -> tuple[str, str]:
    query = {"category": "linear", "symbol": "BTCUSDT", "orderId": order_id}
    row = (await rest.get("/v5/order/realtime", query))["result"]["list"][0]
    return row["orderStatus"], row["cancelType"]


async def test_a_silent_private_connection_is_closed_and_dcp_cancels_after_its_window(
    rest_class: Any,
) -> None:
    settings = real_clock()
    async with running_simulator(settings) as sim:
        rest = rest_class(sim.rest_url)
        window = {"product": "DERIVATIVES", "timeWindow": 3}
        assert (await rest.post("/v5/order/disconnected-cancel-all", window))["retCode"] == 0
        order = {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit"}
        created = await rest.post("/v5/order/create", {**order, "qty": "0.010", "price": "70000"})
        order_id = created["result"]["orderId"]
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(sim.ws_private_url, autoping=False)
            await authed(socket, ["dcp.future", "order"])
            silent_from = loop.time()
            # The client is frozen: it sends nothing, not even a ping. The venue hangs up.
            closed = await asyncio.wait_for(socket.receive(), PING_TIMEOUT_S + 5)
            closed_after = loop.time() - silent_from
            assert closed.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            assert PING_TIMEOUT_S * 0.9 <= closed_after < PING_TIMEOUT_S + 2
            assert await _order_status(rest, order_id) == ("New", "UNKNOWN")
            cancelled = await eventually(lambda: _cancelled(rest, order_id), 6, 0.1, "dcp fires")
            assert cancelled == ("Cancelled", "CancelByDCP")
            assert loop.time() - silent_from >= PING_TIMEOUT_S + 3
            await socket.close()


async def _cancelled(rest: Any, order_id: str) -> tuple[str, str] | None:
    status = await _order_status(rest, order_id)
    return status if status[0] != "New" else None


async def test_pings_keep_private_and_trade_connections_open(rest_class: Any) -> None:
    settings = real_clock()
    async with running_simulator(settings) as sim, aiohttp.ClientSession() as session:
        private = await session.ws_connect(sim.ws_private_url)
        trade = await session.ws_connect(sim.ws_trade_url)
        await authed(private, ["order"])
        await trade.send_json({"reqId": "a", "op": "auth", "args": auth_args()})
        assert (await trade.receive_json(timeout=5))["retCode"] == 0
        for _ in range(6):  # three timeouts' worth of time, a ping every half timeout
            for socket in (private, trade):
                await socket.send_json({"op": "ping"})
                assert (await socket.receive_json(timeout=5))["op"] in ("ping", "pong")
            await asyncio.sleep(PING_TIMEOUT_S / 2)
        assert not private.closed
        assert not trade.closed
        for socket in (private, trade):
            with contextlib.suppress(Exception):
                await socket.close()


async def test_public_connections_are_not_cut_for_silence(rest_class: Any) -> None:
    settings = real_clock()
    async with running_simulator(settings) as sim, aiohttp.ClientSession() as session:
        public = await session.ws_connect(sim.ws_public_url("linear"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(public.receive(), PING_TIMEOUT_S * 2)
        assert not public.closed
        await public.close()

"""Public WS over real sockets: acks per category, ping, depth books with contiguous u, tape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from mm_sim.testing import SimulatorHandle

TIMEOUT = 5.0


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(socket.receive_str(), TIMEOUT)
    return dict(json.loads(message))


async def receive_topic(socket: aiohttp.ClientWebSocketResponse, topic: str) -> dict[str, Any]:
    while True:
        message = await receive(socket)
        if message.get("topic") == topic:
            return message


class LocalBook:
    """A client-side depth-N book built from snapshot + deltas, checking u and seq as it goes."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.update_id = 0
        self.seq = 0

    def apply(self, message: dict[str, Any]) -> None:
        data = message["data"]
        if message["type"] == "snapshot":
            self.bids, self.asks = {}, {}
        else:
            assert data["u"] == self.update_id + 1, (data["u"], self.update_id)
        assert data["seq"] >= self.seq
        self.update_id, self.seq = data["u"], data["seq"]
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, size in levels:
                if size == "0":
                    assert price in side, f"delete of unknown level {price}"
                    del side[price]
                else:
                    side[price] = size
        assert len(self.bids) <= self.depth
        assert len(self.asks) <= self.depth
        if self.bids and self.asks:
            assert max(map(float, self.bids)) < min(map(float, self.asks))

    def levels(self) -> tuple[list[list[str]], list[list[str]]]:
        bids = sorted(self.bids.items(), key=lambda item: float(item[0]), reverse=True)
        asks = sorted(self.asks.items(), key=lambda item: float(item[0]))
        return [list(level) for level in bids], [list(level) for level in asks]


async def test_linear_acks_and_ping(sim: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("linear")) as socket,
    ):
        await socket.send_json({"req_id": "p1", "op": "ping"})
        pong = await receive(socket)
        assert pong["ret_msg"] == "pong"
        assert pong["op"] == "ping"
        assert pong["req_id"] == "p1"
        await socket.send_json({"req_id": "s1", "op": "subscribe", "args": ["publicTrade.BTCUSDT"]})
        ack = await receive(socket)
        assert {k: ack[k] for k in ("success", "ret_msg", "req_id", "op")} == {
            "success": True,
            "ret_msg": "",
            "req_id": "s1",
            "op": "subscribe",
        }
        await socket.send_json({"op": "subscribe", "args": ["publicTrade.NOTASYMBOL"]})
        bad = await receive(socket)
        assert bad["success"] is False
        assert bad["ret_msg"] == "error:handler not found,topic:publicTrade.NOTASYMBOL"
        await socket.send_str("not json")
        assert (await receive(socket))["success"] is False


async def test_spot_ack_shape(sim: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("spot")) as socket,
    ):
        await socket.send_json(
            {"req_id": "10001", "op": "subscribe", "args": ["orderbook.1.BTCUSDT"]}
        )
        ack = await receive(socket)
        assert (ack["success"], ack["ret_msg"], ack["op"], ack["req_id"]) == (
            True,
            "subscribe",
            "subscribe",
            "10001",
        )
        snapshot = await receive(socket)
        assert snapshot["type"] == "snapshot"
        assert len(snapshot["data"]["b"]) == 1


async def test_depth_book_matches_sim_book_at_same_u(sim: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("linear")) as socket,
    ):
        await socket.send_json({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
        book = LocalBook(50)
        await receive(socket)
        book.apply(await receive_topic(socket, "orderbook.50.BTCUSDT"))
        await sim.admin.step(100)
        target = (await sim.admin.book("BTCUSDT", depth=50))["u"]
        assert target > book.update_id + 20
        while book.update_id < target:
            book.apply(await receive_topic(socket, "orderbook.50.BTCUSDT"))
        expected = await sim.admin.book("BTCUSDT", depth=50)
        assert book.levels() == (expected["b"], expected["a"])
        assert len(expected["b"]) == 50


async def test_trades_and_ticker_deltas(sim: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("linear")) as socket,
    ):
        await socket.send_json(
            {"op": "subscribe", "args": ["publicTrade.BTCUSDT", "tickers.BTCUSDT"]}
        )
        await receive(socket)
        snapshot = await receive_topic(socket, "tickers.BTCUSDT")
        assert snapshot["type"] == "snapshot"
        assert isinstance(snapshot["cs"], int)
        assert isinstance(snapshot["data"]["bid1Price"], str)
        await sim.admin.trade("BTCUSDT", "Buy", "0.050")
        trade = await receive_topic(socket, "publicTrade.BTCUSDT")
        [item] = trade["data"][:1]
        assert item["S"] == "Buy"
        assert isinstance(item["T"], int)
        assert isinstance(item["seq"], int)
        assert isinstance(item["p"], str)
        assert item["BT"] is False
        delta = await receive_topic(socket, "tickers.BTCUSDT")
        assert delta["type"] == "delta"
        assert delta["data"]["symbol"] == "BTCUSDT"
        assert "lastPrice" in delta["data"] or "volume24h" in delta["data"]


async def test_unsubscribe_stops_messages(sim: SimulatorHandle) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("linear")) as socket,
    ):
        await socket.send_json({"op": "subscribe", "args": ["orderbook.1.BTCUSDT"]})
        await receive(socket)
        await receive(socket)
        await socket.send_json(
            {"req_id": "u1", "op": "unsubscribe", "args": ["orderbook.1.BTCUSDT"]}
        )
        ack = await receive(socket)
        assert (ack["op"], ack["success"]) == ("unsubscribe", True)
        await sim.admin.step(20)
        await socket.send_json({"req_id": "after", "op": "ping"})
        assert (await receive(socket))["req_id"] == "after"

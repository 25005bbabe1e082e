"""The real gateway in-process against a real nats-server and a real simulator, and a recorder.

`Recorder` keeps every `md.>` message in arrival order (one subscription, so the order across
books, depths and statuses is the order the gateway published them). `sim_levels` and
`depth_fingerprint` compare a published BookDepth with the simulator's own book via fresh
`mm_orderbook.OrderBook`s, never via the gateway's code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client.parser import text_string_to_metric_families

from md_gateway.service import GatewayService
from md_gateway.settings import GatewaySettings
from mm_orderbook import OrderBook, price_to_ticks, qty_to_lots
from mm_proto import BookDepth, BookTop, FeedState, FeedStatus, decode, subjects
from mm_runtime.barrier import round_trip
from mm_runtime.lifecycle import serve
from mm_runtime.nats_server import NatsServer, free_port
from mm_runtime.settings import load_settings
from mm_runtime.testing import eventually
from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings

GRID = {"BTCUSDT": ("0.10", "0.001"), "ETHUSDT": ("0.01", "0.01")}


@dataclass
class Received:
    subject: str
    message: Any
    headers: dict[str, str]


@dataclass
class Recorder:
    """Every md.> message, decoded by its subject's family, in arrival order (marks apart)."""

    client: Client
    messages: list[Received] = field(default_factory=list)
    marks: list[BookTop] = field(default_factory=list)  # md.mark.*: the same tops, thinned

    async def on_message(self, msg: Msg) -> None:
        parsed = subjects.parse(msg.subject)
        if parsed.family == "mark":
            self.marks.append(decode(msg.data, BookTop))
            return
        self.messages.append(
            Received(msg.subject, decode(msg.data, parsed.message_type), dict(msg.headers or {}))
        )

    def of(self, kind: type, symbol: str) -> list[Any]:
        return [
            item.message
            for item in self.messages
            if isinstance(item.message, kind) and item.message.symbol == symbol
        ]

    def statuses(self, symbol: str) -> list[FeedStatus]:
        return self.of(FeedStatus, symbol)

    def depth_at(self, symbol: str, update_id: int) -> BookDepth | None:
        found = [depth for depth in self.of(BookDepth, symbol) if depth.update_id == update_id]
        return found[-1] if found else None

    def book_stream(self, symbol: str) -> list[Any]:
        """Book tops, depths and statuses of one symbol, in publish order."""
        kinds = (BookTop, BookDepth, FeedStatus)
        return [
            item.message
            for item in self.messages
            if isinstance(item.message, kinds) and item.message.symbol == symbol
        ]

    async def wait_state(self, symbol: str, state: FeedState, after: int = 0) -> FeedStatus:
        """The first status in `state` published after the first `after` statuses."""

        def found() -> FeedStatus | None:
            return next((s for s in self.statuses(symbol)[after:] if s.state is state), None)

        return await eventually(found, timeout=10.0, message=f"{symbol} {state.value}")


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(simulator_settings()) as sim:
        yield sim


@pytest.fixture
async def recorder(nats_server: NatsServer) -> AsyncIterator[Recorder]:
    client = await nats.connect(nats_server.url)
    recorder = Recorder(client)
    await client.subscribe("md.>", cb=recorder.on_message)
    await round_trip(client)
    yield recorder
    await client.drain()


@dataclass
class GatewayRig:
    """The simulator, the NATS server and the recorder, with the steps the tests take."""

    nats_server: NatsServer
    sim: SimulatorHandle
    recorder: Recorder

    def settings(self, **overrides: Any) -> GatewaySettings:
        venue = {
            "rest_url": self.sim.rest_url,
            "ws_url": f"ws://127.0.0.1:{self.sim.port}",
            "reconnect_base_s": 0.05,
            "reconnect_cap_s": 0.2,
            **overrides.pop("venue", {}),
        }
        values: dict[str, Any] = {
            "symbols": ["BTCUSDT"],
            "depth": 50,
            "top_levels": 50,
            "depth_interval_s": 0,
            "nats": {"url": self.nats_server.url},
            "http": {"port": free_port()},
            "venue": venue,
            **overrides,
        }
        return load_settings(GatewaySettings, **values)

    def running(
        self, settings: GatewaySettings
    ) -> contextlib.AbstractAsyncContextManager[GatewayService]:
        return running_gateway(settings)

    async def metric(
        self, settings: GatewaySettings, name: str, labels: dict[str, str] | None = None
    ) -> float:
        return await metric(settings, name, labels)

    async def step_until_book_changes(self, symbol: str, depth: int = 50) -> dict[str, Any]:
        return await step_until_book_changes(self.sim, symbol, depth)

    async def assert_published_equals_simulator(self, symbol: str, levels: dict[str, Any]) -> None:
        await assert_published_equals_simulator(self.recorder, symbol, levels)


@pytest.fixture
async def rig(
    nats_server: NatsServer, simulator: SimulatorHandle, recorder: Recorder
) -> GatewayRig:
    return GatewayRig(nats_server, simulator, recorder)


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[GatewayService]:
    stop, ready = asyncio.Event(), asyncio.Event()
    service = GatewayService(settings)
    task = asyncio.create_task(serve(service, settings, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        await task  # raises the start-up failure
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def metric(
    settings: GatewaySettings, name: str, labels: dict[str, str] | None = None
) -> float:
    """One sample of the gateway's /metrics, 0 if absent."""
    url = f"http://127.0.0.1:{settings.http.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in (labels or {}).items()
            ):
                total += sample.value
    return total


def sim_book(symbol: str, levels: dict[str, Any]) -> OrderBook:
    """A fresh book holding the simulator's levels."""
    tick, lot = GRID[symbol]
    book = OrderBook(symbol, tick, lot, depth=1000)
    bids = [(price_to_ticks(p, tick), qty_to_lots(s, lot)) for p, s in levels["b"]]
    asks = [(price_to_ticks(p, tick), qty_to_lots(s, lot)) for p, s in levels["a"]]
    book.apply_snapshot(bids, asks, levels["u"])
    return book


def depth_book(symbol: str, depth: BookDepth) -> OrderBook:
    """A fresh book holding the levels the gateway published."""
    tick, lot = GRID[symbol]
    book = OrderBook(symbol, tick, lot, depth=1000)
    bids = list(zip(depth.bid_prices_ticks, depth.bid_sizes_lots, strict=True))
    asks = list(zip(depth.ask_prices_ticks, depth.ask_sizes_lots, strict=True))
    book.apply_snapshot(bids, asks, depth.update_id)
    return book


async def step_until_book_changes(
    sim: SimulatorHandle, symbol: str, depth: int = 50
) -> dict[str, Any]:
    """Step the market until the depth topic's `u` moves; return the simulator's book then."""
    before = (await sim.admin.book(symbol, depth=depth))["u"]
    for _ in range(50):
        await sim.admin.step(1)
        levels = await sim.admin.book(symbol, depth=depth)
        if levels["u"] != before:
            return dict(levels)
    raise AssertionError(f"{symbol} book did not change in 50 steps")


async def assert_published_equals_simulator(
    recorder: Recorder, symbol: str, levels: dict[str, Any], top_levels: int = 50
) -> None:
    """The gateway publishes the book at the simulator's `u`, and its fingerprint matches."""
    update_id = levels["u"]
    depth = await eventually(
        lambda: recorder.depth_at(symbol, update_id),
        timeout=10.0,
        message=f"{symbol} depth at u={update_id}",
    )
    expected = sim_book(symbol, levels)
    assert depth_book(symbol, depth).fingerprint(top_levels) == expected.fingerprint(top_levels)
    top = next(t for t in recorder.of(BookTop, symbol) if t.update_id == update_id)
    assert (top.bid_price_ticks, top.bid_size_lots) == expected.best_bid
    assert (top.ask_price_ticks, top.ask_size_lots) == expected.best_ask

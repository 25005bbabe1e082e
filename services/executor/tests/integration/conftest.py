"""A real simulator, a real nats-server and the executor in-process, with the test's side of both:
publish targets and risk heartbeats, read the venue's orders and the EXEC stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from executor.service import ExecutorService
from executor.settings import ExecutorSettings
from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_proto import (
    CtlReply,
    Heartbeat,
    OrderTarget,
    QuoteLevel,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle, running_simulator

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"


def sim_settings(**overrides: Any) -> SimSettings:
    """A real-clock simulator (rate-limit windows move) whose market moves only when told."""
    values: dict[str, Any] = {
        "port": 0,
        "market": MarketModelConfig(auto_step=False),
        "order_rate_limit_per_s": 200,
        "admin_open": True,
    }
    values.update(overrides)
    return SimSettings(**values)


@dataclass
class Harness:
    """The test's hands on the venue and the bus."""

    sim: SimulatorHandle
    nats_url: str
    client: Client
    js: JetStreamContext
    api: BybitRestApi
    target_count: int = 0
    running: list[tuple[asyncio.Task[Any], asyncio.Event, ExecutorService]] = field(
        default_factory=list
    )

    def settings(self, **overrides: Any) -> ExecutorSettings:
        venue = {
            "rest_url": self.sim.rest_url,
            "ws_url": f"ws://{self.sim.host}:{self.sim.port}",
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "read_timeout_s": 2.0,
            **overrides.pop("venue", {}),
        }
        values: dict[str, Any] = {
            "symbols": [SYMBOL],
            "nats": {"url": self.nats_url},
            "venue": venue,
            "watchdog_timeout_s": 30.0,
            "retry_delay_s": 0.05,
        }
        values.update(overrides)
        return load_settings(ExecutorSettings, **values)

    async def start_executor(self, settings: ExecutorSettings) -> ExecutorService:
        await store_venue_instruments(self.api, self.js)
        stop, ready = asyncio.Event(), asyncio.Event()
        service = ExecutorService(settings)
        task = asyncio.create_task(serve(service, settings, stop, ready, configure_logs=False))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when="FIRST_COMPLETED")
        if waiter not in done:
            waiter.cancel()
            if task.done():
                task.result()
            raise AssertionError("executor did not become ready in 30 s")
        self.running.append((task, stop, service))
        return service

    async def stop_executor(self, service: ExecutorService) -> None:
        for task, stop, running in list(self.running):
            if running is service:
                stop.set()
                await asyncio.wait_for(task, 15)
                self.running.remove((task, stop, running))

    async def touch(self) -> tuple[int, int]:
        """The venue's best bid and ask in ticks."""
        book = await self.sim.admin.book(SYMBOL, depth=1)
        return round(float(book["b"][0][0]) * 10), round(float(book["a"][0][0]) * 10)

    async def heartbeat(self) -> None:
        beat = Heartbeat(service="risk", instance_id="test", ts_sent_ns=time.time_ns())
        await self.client.publish(subjects.heartbeat("risk"), encode(beat))

    async def target(
        self,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        cancel_all: bool = False,
        symbol: str = SYMBOL,
        headers: dict[str, str] | None = None,
        category: str = CATEGORY,
        ts_tick_ns: int = 0,
    ) -> OrderTarget:
        self.target_count += 1
        target = OrderTarget(
            venue=VENUE,
            category=category,
            symbol=symbol,
            bids=[QuoteLevel(price_ticks=p, size_lots=s) for p, s in bids],
            asks=[QuoteLevel(price_ticks=p, size_lots=s) for p, s in asks],
            target_id=f"t{self.target_count}",
            intent_id=f"i{self.target_count}",
            cancel_all=cancel_all,
            ts_target_ns=time.time_ns(),
            ts_tick_ns=ts_tick_ns,
        )
        subject = subjects.order_target(VENUE, category, symbol)
        await self.client.publish(subject, encode(target), headers=headers)
        return target

    async def venue_orders(self) -> set[tuple[str, str, int, int]]:
        """The venue's open orders: (orderLinkId, side, price ticks, remaining lots)."""
        orders = await self.api.open_orders(CATEGORY, SYMBOL)
        return {
            (
                order.order_link_id,
                order.side.lower(),
                round(float(order.price) * 10),
                round(float(order.leaves_qty) * 1000),
            )
            for order in orders
        }

    async def status(self) -> dict[str, str]:
        reply = await self.client.request(
            subjects.ctl("executor", "status"), encode(StatusRequest()), timeout=5
        )
        return decode(reply.data, CtlReply).data

    async def executor_orders(self) -> set[tuple[str, str, int, int]]:
        rows = json.loads((await self.status())[f"orders.{SYMBOL}"])
        return {(row[0], row[1], row[2], row[3] - row[4]) for row in rows}

    async def stream(self, family: str) -> list[Any]:
        """Every message of one EXEC family (exec_fill, exec_order, exec_position), in order."""
        try:
            info = await self.js.stream_info(subjects.EXEC_STREAM)
        except NotFoundError:
            return []
        messages = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                raw = await self.js.get_msg(subjects.EXEC_STREAM, sequence)
            except NotFoundError:
                continue
            parsed = subjects.parse(raw.subject or "")
            if parsed.family == family:
                messages.append(decode(raw.data or b"", parsed.message_type))
        return messages


async def store_venue_instruments(api: BybitRestApi, js: JetStreamContext) -> None:
    """Store the venue's definitions in KV as md_gateway does; the executor waits for them."""
    await ensure_layout(js)
    for category in ("linear", "spot"):
        for definition in (await load_instruments(api, category)).values():
            await store_instrument(js, definition)


@pytest.fixture
async def harness(nats_server: NatsServer) -> AsyncIterator[Harness]:
    async with running_simulator(sim_settings()) as sim:
        client = await nats.connect(nats_server.url)
        rest = RestClient(sim.rest_url, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
        harness = Harness(sim, nats_server.url, client, client.jetstream(), BybitRestApi(rest))
        try:
            yield harness
        finally:
            for task, stop, _ in harness.running:
                stop.set()
                await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
            await rest.aclose()
            await client.drain()

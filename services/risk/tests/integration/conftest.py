"""Fixtures for running the real risk service in-process against a real nats-server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from mm_proto import (
    BookTop,
    CtlReply,
    Heartbeat,
    OrderTarget,
    QuoteIntent,
    QuoteLevel,
    RiskEvent,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_runtime.barrier import round_trip
from mm_runtime.lifecycle import serve
from mm_runtime.nats_server import NatsServer
from mm_runtime.settings import load_settings
from mm_runtime.testing import eventually
from risk.service import RiskService
from risk.settings import RiskSettings

VENUE, CATEGORY = "bybit", "linear"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
# BTCUSDT: tick 0.10, lot 0.001. A mid of 100000.0 is 1_000_000 ticks; one lot there is worth 100.
BTC_MID_TICKS = 1_000_000


class RiskProcess:
    """One in-process run of the risk service; `restart` stops it and starts a fresh one.

    `start` returns once risk is ready and answers `ctl.risk.status`: a subscription made and
    flushed on one connection is, rarely, not yet routable from another for a moment (the
    server answers "no responders"; nats-server issue 2876), so the test waits for an answer.
    """

    def __init__(self, settings: RiskSettings, bus: Bus) -> None:
        self.settings = settings
        self.bus = bus
        self._task: asyncio.Task[Any] | None = None
        self._stop = asyncio.Event()
        self.service: RiskService | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        self.service = RiskService(self.settings)
        self._task = asyncio.create_task(serve(self.service, self.settings, self._stop, ready))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=15, return_when="FIRST_COMPLETED"
        )
        if self._task in done:
            waiter.cancel()
            failed, self._task = self._task, None
            failed.result()  # raises the start failure
            raise AssertionError("risk exited during start")
        assert waiter in done, "risk did not become ready within 15 s"
        await eventually(self.bus.answers, timeout=5, message="risk answers ctl.risk.status")

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, timeout=15)
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


class Bus:
    """The test's side of the bus: publishes inputs and records risk's outputs."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()
        self.targets: list[OrderTarget] = []
        self.events: list[RiskEvent] = []
        self.heartbeats: list[Heartbeat] = []

    async def listen(self) -> None:
        async def on_target(msg: Msg) -> None:
            self.targets.append(decode(msg.data, OrderTarget))

        async def on_event(msg: Msg) -> None:
            self.events.append(decode(msg.data, RiskEvent))

        async def on_heartbeat(msg: Msg) -> None:
            self.heartbeats.append(decode(msg.data, Heartbeat))

        await self.client.subscribe(subjects.order_target_pattern(), cb=on_target)
        await self.client.subscribe(subjects.risk_event_pattern(), cb=on_event)
        await self.client.subscribe(subjects.heartbeat("risk"), cb=on_heartbeat)
        await round_trip(self.client)

    async def answers(self) -> bool:
        try:
            await self.status()
        except nats.errors.NoRespondersError:
            return False
        return True

    async def status(self) -> dict[str, str]:
        reply = await self.ctl("status", StatusRequest())
        assert reply.ok, reply.message
        return reply.data

    async def book_seen(self, symbol: str = "BTCUSDT", mid_ticks: int = BTC_MID_TICKS) -> None:
        """Publish a book and wait until risk reports its mid."""
        await self.book(symbol, mid_ticks)

        async def seen() -> bool:
            return (await self.status()).get(f"{symbol}.mid_ticks") == str(mid_ticks)

        await eventually(seen, timeout=5, message=f"risk saw the {symbol} book")

    async def book(self, symbol: str = "BTCUSDT", mid_ticks: int = BTC_MID_TICKS) -> None:
        now = time.time_ns()
        message = BookTop(
            venue=VENUE,
            category=CATEGORY,
            symbol=symbol,
            bid_price_ticks=mid_ticks - 10,
            bid_size_lots=5,
            ask_price_ticks=mid_ticks + 10,
            ask_size_lots=5,
            update_id=now,
            ts_exchange_ns=now,
            ts_gateway_ns=now,
        )
        await self.client.publish(subjects.book(VENUE, CATEGORY, symbol), encode(message))

    async def intent(
        self,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        symbol: str = "BTCUSDT",
        intent_id: str = "intent",
        headers: dict[str, str] | None = None,
        ts_tick_ns: int = 0,
    ) -> None:
        now = time.time_ns()
        message = QuoteIntent(
            venue=VENUE,
            category=CATEGORY,
            symbol=symbol,
            bids=[QuoteLevel(price_ticks=price, size_lots=size) for price, size in bids],
            asks=[QuoteLevel(price_ticks=price, size_lots=size) for price, size in asks],
            source_update_id=1,
            intent_id=intent_id,
            ts_source_ns=now,
            ts_intent_ns=now,
            ts_tick_ns=ts_tick_ns,
        )
        subject = subjects.quote_intent(VENUE, CATEGORY, symbol)
        await self.client.publish(subject, encode(message), headers=headers)

    async def ctl(self, verb: str, request: Any) -> CtlReply:
        reply = await self.client.request(subjects.ctl("risk", verb), encode(request), timeout=5)
        return decode(reply.data, CtlReply)

    async def executor_fact(self, subject: str, message: Any) -> None:
        await self.js.publish(subject, encode(message))

    async def put_config(self, key: str, value: dict[str, Any]) -> None:
        try:
            bucket = await self.js.key_value(subjects.CONFIG_BUCKET)
        except nats.js.errors.BucketNotFoundError:
            bucket = await self.js.create_key_value(bucket=subjects.CONFIG_BUCKET, history=5)
        await bucket.put(key, json.dumps(value).encode())

    @staticmethod
    def levels(target: OrderTarget) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return (
            [(level.price_ticks, level.size_lots) for level in target.bids],
            [(level.price_ticks, level.size_lots) for level in target.asks],
        )

    async def target_for(self, intent_id: str, symbol: str = "BTCUSDT") -> OrderTarget:
        def found() -> OrderTarget | None:
            matches = [t for t in self.targets if t.intent_id == intent_id and t.symbol == symbol]
            return matches[-1] if matches else None

        return await eventually(found, timeout=5, message=f"a target for {intent_id}")


@pytest.fixture
def risk_settings(nats_server: NatsServer) -> RiskSettings:
    return load_settings(
        RiskSettings,
        nats={"url": nats_server.url},
        instruments={
            "BTCUSDT": {"tick_size": "0.10", "lot_size": "0.001"},
            "ETHUSDT": {"tick_size": "0.01", "lot_size": "0.01"},
        },
        heartbeat_interval_s=0.1,
        evaluate_interval_s=0.05,
        exec_ack_wait_s=1.0,
        snapshot_interval_s=0.2,
        shutdown_timeout_s=10,
    )


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    client = await nats.connect(nats_server.url)
    test_bus = Bus(client)
    await test_bus.listen()
    yield test_bus
    await client.drain()


@pytest.fixture
async def risk(risk_settings: RiskSettings, bus: Bus) -> AsyncIterator[RiskProcess]:
    process = RiskProcess(risk_settings, bus)
    yield process
    await process.stop()

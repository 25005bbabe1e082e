"""A running quoter against a real nats-server, and a client that feeds it and reads its intents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from mm_proto import BookTop, CtlReply, QuoteIntent, StatusRequest, decode, encode, subjects
from mm_runtime.barrier import round_trip
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer, eventually
from quoter.service import QuoterService
from quoter.settings import QuoterSettings

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
BTC = {
    "symbol": SYMBOL,
    "tick_size": "0.1",
    "lot_size": "0.001",
    "min_qty": "0.001",
    "min_notional": "5",
    "maker_fee_rate": "-0.0001",
}
# Deterministic pricing: no volatility term, 1 bp per side, one level of 10 lots (0.01 BTC).
BASE_PARAMS = {
    "min_spread_bps": 1.0,
    "k_vola_spread": 0.0,
    "risk_aversion": 0.0,
    "level_size_lots": 10,
    "max_inventory_lots": 50,
    "stale_after_s": 30.0,
    "max_quote_age_s": 60.0,
}


@dataclass
class Harness:
    """The test's side of the bus: publish inputs, collect intents, ask for status."""

    client: Client
    js: JetStreamContext
    intents: list[QuoteIntent] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    update_id: int = 0

    async def on_intent(self, msg: Msg) -> None:
        self.intents.append(decode(msg.data, QuoteIntent))
        self.headers.append(dict(msg.headers or {}))

    async def book(
        self, bid: int, ask: int, headers: dict[str, str] | None = None, symbol: str = SYMBOL
    ) -> int:
        self.update_id += 1
        now = time.time_ns()
        message = BookTop(
            venue=VENUE,
            category=CATEGORY,
            symbol=symbol,
            bid_price_ticks=bid,
            bid_size_lots=5,
            ask_price_ticks=ask,
            ask_size_lots=5,
            update_id=self.update_id,
            ts_exchange_ns=now,
            ts_gateway_ns=now,
        )
        await self.client.publish(
            subjects.book(VENUE, CATEGORY, symbol), encode(message), headers=headers
        )
        return self.update_id

    async def next_intent(self, after: int) -> QuoteIntent:
        """The first intent published after `after` intents had been seen."""
        await eventually(lambda: len(self.intents) > after, timeout=5)
        return self.intents[after]

    async def intent_for(self, update_id: int) -> QuoteIntent:
        """The first intent computed from book update `update_id`."""

        def found() -> QuoteIntent | None:
            return next((i for i in self.intents if i.source_update_id == update_id), None)

        intent = await eventually(found, timeout=5)
        assert intent is not None
        return intent

    async def status(self) -> dict[str, str]:
        reply = await self.client.request(
            subjects.ctl("quoter", "status"), encode(StatusRequest()), timeout=2
        )
        return decode(reply.data, CtlReply).data

    async def put_config(self, key: str, value: dict[str, Any] | bytes) -> None:
        kv = await self.js.key_value(subjects.CONFIG_BUCKET)
        raw = value if isinstance(value, bytes) else msgspec.json.encode(value)
        await kv.put(key, raw)


async def prepare_jetstream(js: JetStreamContext) -> None:
    """What the deployment, risk and the executor would have created."""
    await ensure_layout(js)


@dataclass
class QuoterRig(Harness):
    """A harness that can also start the real quoter in-process (stopped by the fixture)."""

    url: str = ""
    running: list[tuple[asyncio.Event, asyncio.Task[Any]]] = field(default_factory=list)
    services: list[QuoterService] = field(default_factory=list)

    async def start(self, params: dict[str, Any] | None = None, **overrides: Any) -> None:
        settings = load_settings(
            QuoterSettings,
            **{
                "nats": {"url": self.url},
                "instruments": [BTC],
                "params": {**BASE_PARAMS, **(params or {})},
                "timer_interval_s": 0.05,
                "bind_retry_s": 0.1,
                **overrides,
            },
        )
        stop, ready = asyncio.Event(), asyncio.Event()
        service = QuoterService(settings)
        self.services.append(service)
        task = asyncio.create_task(serve(service, settings, stop, ready))
        self.running.append((stop, task))
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop_all(self) -> None:
        for stop, task in self.running:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
        self.running.clear()


@pytest.fixture
async def bare_rig(nats_server: NatsServer) -> AsyncIterator[QuoterRig]:
    """A connected client collecting intents; no buckets or streams yet, no quoter yet."""
    client = await nats.connect(nats_server.url)
    rig = QuoterRig(client, client.jetstream(), url=nats_server.url)
    await client.subscribe(subjects.quote_intent_pattern(VENUE, CATEGORY), cb=rig.on_intent)
    await round_trip(client)
    yield rig
    await rig.stop_all()
    await client.drain()


@pytest.fixture
async def rig(bare_rig: QuoterRig) -> QuoterRig:
    """Buckets and the EXEC stream exist, as in a deployment; the quoter is not started yet."""
    await prepare_jetstream(bare_rig.js)
    return bare_rig

"""A ledger in-process on a real nats-server, fed hand-made marks and EXEC facts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from ledger.kpi_store import read_range
from ledger.service import LedgerService
from ledger.settings import LedgerSettings
from mm_proto import BookTop, Fill, KpiSnapshot, OrderEvent, Side, encode, subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import ensure_layout, publish_fact, store_instrument
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
T0 = 1_700_000_000_000_000_000


class Stack:
    def __init__(self, server: NatsServer, client: Any, js: JetStreamContext) -> None:
        self.server, self.client, self.js = server, client, js
        self.running: list[tuple[asyncio.Task[Any], asyncio.Event, LedgerService]] = []
        self.fills = 0

    def settings(self, **overrides: Any) -> LedgerSettings:
        values: dict[str, Any] = {
            "symbols": [SYMBOL],
            "nats": {"url": self.server.url},
            "http": {"port": 0},
            "snapshot_interval_s": 0.3,
            "exec_ack_wait_s": 5,
            "markout_horizons_s": (0.5,),
            "reorder_hold_ms": 0,
        }
        return load_settings(LedgerSettings, **{**values, **overrides})

    async def start(self, **overrides: Any) -> LedgerService:
        stop, ready = asyncio.Event(), asyncio.Event()
        service = LedgerService(self.settings(**overrides))
        task = asyncio.create_task(
            serve(service, service.settings, stop, ready, configure_logs=False)
        )
        await asyncio.wait_for(ready.wait(), 30)
        self.running.append((task, stop, service))
        return service

    async def stop(self, service: LedgerService, graceful: bool = True) -> None:
        for task, stop, running in list(self.running):
            if running is service:
                if graceful:
                    stop.set()
                    await asyncio.wait_for(task, 15)
                else:  # as near to SIGKILL as in-process gets: no flush, no acks, socket gone
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    await running.runtime.bus.client.close()
                self.running.remove((task, stop, running))

    async def top(self, bid: int, ask: int, ts: int) -> None:
        top = BookTop(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            bid_price_ticks=bid,
            bid_size_lots=1,
            ask_price_ticks=ask,
            ask_size_lots=1,
            update_id=1,
            ts_exchange_ns=ts,
            ts_gateway_ns=ts,
        )
        await self.js.publish(subjects.mark(VENUE, CATEGORY, SYMBOL), encode(top))

    async def fill(self, side: Side, price: int, lots: int, ts: int, fee: str) -> Fill:
        self.fills += 1
        fill = Fill(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            fill_id=f"f{self.fills}",
            client_order_id="mm-0-a-1",
            venue_order_id="v1",
            side=side,
            price_ticks=price,
            size_lots=lots,
            fee=fee,
            fee_currency="USDT",
            is_maker=True,
            ts_exchange_ns=ts,
            ts_received_ns=ts,
        )
        await publish_fact(self.js, subjects.exec_fill(VENUE, CATEGORY, SYMBOL), fill, fill.fill_id)
        return fill

    async def snapshots(self) -> list[KpiSnapshot]:
        info = await self.js.stream_info(subjects.KPI_STREAM)
        return [s for _, s in await read_range(self.js, info.state.first_seq, info.state.last_seq)]

    async def order(self, event: OrderEvent) -> None:
        subject = subjects.exec_order(VENUE, CATEGORY, SYMBOL)
        await publish_fact(self.js, subject, event, f"{event.client_order_id}:{event.ts_event_ns}")

    async def net(self) -> Decimal:
        return sum((Decimal(s.net_pnl) for s in await self.snapshots()), Decimal(0))


@pytest.fixture
async def stack(nats_server: NatsServer) -> AsyncIterator[Stack]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await ensure_layout(js)
    await store_instrument(js, example_instrument())
    stack = Stack(nats_server, client, js)
    try:
        yield stack
    finally:
        for task, stop, _ in stack.running:
            stop.set()
            await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
        await client.drain()

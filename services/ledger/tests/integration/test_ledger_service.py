"""The ledger in-process on a real nats-server: EXEC and tops in, KPI snapshots out, restarts."""

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
from mm_proto import BookTop, Fill, FundingSettlement, KpiSnapshot, Side, encode, subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import ensure_layout, publish_fact, store_instrument
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer, eventually

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
T0 = 1_700_000_000_000_000_000


class Stack:
    def __init__(self, server: NatsServer, client: Any, js: JetStreamContext) -> None:
        self.server, self.client, self.js = server, client, js
        self.running: list[tuple[asyncio.Task[Any], asyncio.Event, LedgerService]] = []
        self.fills = 0

    def settings(self) -> LedgerSettings:
        return load_settings(
            LedgerSettings,
            symbols=[SYMBOL],
            nats={"url": self.server.url},
            http={"port": 0},
            snapshot_interval_s=0.3,
            exec_ack_wait_s=5,
            markout_horizons_s=(0.5,),
            reorder_hold_ms=0,
        )

    async def start(self) -> LedgerService:
        stop, ready = asyncio.Event(), asyncio.Event()
        service = LedgerService(self.settings())
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


async def test_fills_and_tops_become_exact_snapshots_on_the_kpi_stream(stack: Stack) -> None:
    await stack.start()
    await stack.top(650000, 650002, T0)
    await stack.fill(Side.BUY, 650000, 10, T0 + 1, "-0.13")
    await stack.top(650010, 650012, T0 + 10**9)  # +1.0 on 0.010: inventory 0.01
    await stack.fill(Side.SELL, 650012, 10, T0 + 10**9 + 1, "-0.13")
    settlement = FundingSettlement(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        funding_id="fund-1",
        position_lots=10,
        funding_rate="0.0001",
        mark_price="65000",
        fee="0.065",
        fee_currency="USDT",
        ts_exchange_ns=T0 + 5,
        ts_received_ns=T0 + 5,
    )
    await publish_fact(stack.js, subjects.exec_funding(VENUE, CATEGORY, SYMBOL), settlement, "x")
    await stack.top(650010, 650012, T0 + 3 * 10**9)  # the watermark passes the last fill
    await eventually(lambda: _fills_booked(stack, 2), timeout=10, message="two fills booked")
    # spread 0.001 + 0.001, rebates 0.26, inventory 0.01, funding -0.065
    await eventually(lambda: _net_is(stack, Decimal("0.207")), timeout=10, message="net")
    markouts = [s for s in await stack.snapshots() if s.markout_fills]
    assert sum(s.markout_fills.get("0.5s", 0) for s in markouts) >= 1


async def test_a_restart_graceful_or_killed_books_nothing_twice(stack: Stack) -> None:
    first = await stack.start()
    await stack.top(650000, 650002, T0)
    await stack.fill(Side.BUY, 650000, 10, T0 + 1, "-0.13")
    await stack.top(650000, 650002, T0 + 10)  # the watermark passes the fill
    await eventually(lambda: _fills_booked(stack, 1), timeout=10, message="first fill booked")
    await stack.stop(first)
    second = await stack.start()
    await stack.fill(Side.BUY, 650000, 10, T0 + 2, "-0.13")
    await stack.top(650010, 650012, T0 + 10**9)  # inventory on 20 lots: 0.02
    await eventually(lambda: _fills_booked(stack, 2), timeout=10, message="second fill booked")
    await stack.fill(Side.SELL, 650013, 5, T0 + 10**9 + 5, "-0.065")  # likely not yet stored
    await stack.stop(second, graceful=False)  # unstored work is lost, its EXEC messages unacked
    await stack.start()
    await stack.top(650010, 650012, T0 + 2 * 10**9)
    # Spread 0.001 + 0.001 + 0.001, rebates 0.325, inventory 0.02: each counted once, whatever
    # died when (the killed ledger's unacked messages come again after exec_ack_wait_s).
    await eventually(lambda: _net_is(stack, Decimal("0.348")), timeout=20, message="net")
    await asyncio.sleep(1.0)
    assert await stack.net() == Decimal("0.348")
    assert await _fills_booked(stack, 3)


async def _fills_booked(stack: Stack, count: int) -> bool:
    return sum(s.fills for s in await stack.snapshots()) == count


async def _net_is(stack: Stack, expected: Decimal) -> bool:
    return await stack.net() == expected

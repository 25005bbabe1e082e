"""120 open orders across three symbols, the executor SIGKILLed, orders changed at the venue while
it is dead, and a restart: its view must equal the venue's again, every surviving order adopted
(not replaced), which it can only learn by walking the venue's order pages (60 BTCUSDT orders are
two pages at Bybit's limit of 50; the settle-coin catch-up is three). Real processes:
nats-server, the simulator (`python -m mm_sim`) and the executor (`python -m executor`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.order_requests import CancelOrder
from mm_bybit.rest import RestClient
from mm_proto import Heartbeat, OrderTarget, QuoteLevel, encode, subjects
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.testing import NatsServer, eventually
from mm_sim.testing import API_KEY, API_SECRET, Admin, simulator_process

from .test_crash_recovery import ExecutorProcess, _status

# symbol -> (levels per side, tick size, qty step, start price): 2 * (30 + 20 + 10) = 120 orders
BOOKS = {
    "BTCUSDT": (30, "0.10", "0.001", "60000"),
    "ETHUSDT": (20, "0.01", "0.01", "3000"),
    "SOLUSDT": (10, "0.01", "0.1", "150"),
}
INSTRUMENTS = [
    {
        "symbol": symbol,
        "base_coin": symbol.removesuffix("USDT"),
        "tick_size": tick,
        "qty_step": step,
        "min_order_qty": step,
        "start_price": start,
    }
    for symbol, (_, tick, step, start) in BOOKS.items()
]
Row = tuple[str, str, int, int]


@pytest.fixture
def three_symbol_sim(tmp_path: Path) -> Iterator[str]:
    settings = {
        "MM_SIM_ORDER_RATE_LIMIT_PER_S": "400",
        "MM_SIM_INSTRUMENTS": json.dumps(INSTRUMENTS),
    }
    with simulator_process(tmp_path, settings) as url:
        yield url


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.drain()


class Risk:
    """Plays risk: heartbeats and a fixed ladder per symbol, re-sent every half second."""

    def __init__(self, client: Client, admin: Admin) -> None:
        self.client = client
        self.admin = admin
        self.targets: dict[str, OrderTarget] = {}
        self.count = 0

    async def build(self) -> None:
        for symbol, (levels, tick, _, _) in BOOKS.items():
            book = await self.admin.book(symbol, depth=1)
            scale = 1 / float(tick)
            bid, ask = round(float(book["b"][0][0]) * scale), round(float(book["a"][0][0]) * scale)
            self.targets[symbol] = OrderTarget(
                venue="bybit",
                category="linear",
                symbol=symbol,
                bids=[QuoteLevel(price_ticks=bid - 2 - n, size_lots=1) for n in range(levels)],
                asks=[QuoteLevel(price_ticks=ask + 2 + n, size_lots=1) for n in range(levels)],
                target_id=f"t-{symbol}",
                intent_id=f"i-{symbol}",
                ts_target_ns=time.time_ns(),
            )

    async def run(self) -> None:
        while True:
            beat = Heartbeat(service="risk", instance_id="t", ts_sent_ns=time.time_ns())
            await self.client.publish(subjects.heartbeat("risk"), encode(beat))
            self.count += 1
            for symbol, target in self.targets.items():
                fresh = msgspec.structs.replace(
                    target, target_id=f"t{self.count}", ts_target_ns=time.time_ns()
                )
                subject = subjects.order_target("bybit", "linear", symbol)
                await self.client.publish(subject, encode(fresh))
            await asyncio.sleep(0.5)


async def venue_rows(api: BybitRestApi, symbol: str) -> set[Row]:
    tick, step = float(BOOKS[symbol][1]), float(BOOKS[symbol][2])
    return {
        (
            order.order_link_id,
            order.side.lower(),
            round(float(order.price) / tick),
            round(float(order.leaves_qty) / step),
        )
        for order in await api.open_orders("linear", symbol)
    }


async def executor_rows(client: Client, symbol: str) -> set[Row] | None:
    status = await _status(client)
    if status is None:
        return None
    rows = json.loads(status[f"orders.{symbol}"])
    return {(row[0], row[1], row[2], row[3] - row[4]) for row in rows}


async def all_agree(client: Client, api: BybitRestApi) -> bool:
    for symbol, (levels, _, _, _) in BOOKS.items():
        venue = await venue_rows(api, symbol)
        if len(venue) != 2 * levels or await executor_rows(client, symbol) != venue:
            return False
    return True


async def test_executor_adopts_120_orders_over_several_pages_after_a_sigkill(
    tmp_path: Path, nats_server: NatsServer, three_symbol_sim: str, bus: Client
) -> None:
    admin = Admin(three_symbol_sim)
    risk = Risk(bus, admin)
    await risk.build()
    executor = ExecutorProcess(tmp_path, nats_server.url, three_symbol_sim)
    executor.env["EXECUTOR_SYMBOLS"] = ",".join(BOOKS)
    rest = RestClient(three_symbol_sim, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
    api = BybitRestApi(rest)
    js = bus.jetstream()
    await ensure_layout(js)
    for definition in (await load_instruments(api, "linear", list(BOOKS))).values():
        await store_instrument(js, definition)  # as md_gateway does; the executor waits for it
    publisher = asyncio.create_task(risk.run())
    try:
        executor.start()
        await eventually(lambda: all_agree(bus, api), timeout=60, message="120 orders placed")
        assert len(await api.open_orders("linear")) == 120  # settleCoin walk: three pages
        before = {symbol: await venue_rows(api, symbol) for symbol in BOOKS}
        assert executor.signal(signal.SIGKILL) == -signal.SIGKILL
        # While it is dead: five BTCUSDT orders on the second page go at the venue.
        oldest = (await api.open_orders("linear", "BTCUSDT"))[-5:]  # newest first: page two
        gone = {row for row in before["BTCUSDT"] if row[0] in {o.order_link_id for o in oldest}}
        for order in oldest:
            await api.send_order(
                CancelOrder(category="linear", symbol="BTCUSDT", order_id=order.order_id)
            )
        executor.start()
        await eventually(lambda: all_agree(bus, api), timeout=60, message="views agree again")
        after = {symbol: await venue_rows(api, symbol) for symbol in BOOKS}
        for symbol in ("ETHUSDT", "SOLUSDT"):
            assert after[symbol] == before[symbol]  # adopted as they were, nothing replaced
        assert len(gone) == 5
        survivors = before["BTCUSDT"] - gone
        assert survivors <= after["BTCUSDT"]  # both pages adopted
        assert len(after["BTCUSDT"] - survivors) == 5  # only the cancelled levels re-placed
        assert executor.signal(signal.SIGTERM) == 0
        assert await api.open_orders("linear") == []
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
        if executor.process is not None and executor.process.poll() is None:
            executor.process.kill()
        await rest.aclose()

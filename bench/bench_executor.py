"""Amend efficiency of the executor: venue actions per changed order over 1,000 target changes.

The real executor service runs in-process against the real simulator (REST + private + trade
WebSockets on loopback) and a real nats-server. 1,000 targets are published one at a time, each
moving a 3-level-per-side ladder (levels 5 ticks apart) by 1-3 ticks and sometimes resizing a
level; the next target is sent once the executor's orders equal the previous one, so coalescing
never hides an action. Counted: order operations sent (create, amend, cancel; a batch item counts
as one) per changed order (per side, levels added or removed by the change). Cancel + create
would cost 2.0 per changed order. The simulator's order rate limit is raised to 2,000/s so the
run measures the planner, not the budget's waiting.

    .venv/bin/python bench/bench_executor.py [changes]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from executor.service import ExecutorService
from executor.settings import ExecutorSettings
from mm_bybit.api import BybitRestApi
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_proto import Heartbeat, OrderTarget, QuoteLevel, encode, subjects
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer, eventually
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import API_KEY, API_SECRET, running_simulator

SYMBOL = "BTCUSDT"
LEVELS = 3
SPACING_TICKS = 5


def ladder(anchor_bid: int, anchor_ask: int, sizes: list[int]) -> tuple[list[QuoteLevel], ...]:
    bids = [
        QuoteLevel(price_ticks=anchor_bid - level * SPACING_TICKS, size_lots=sizes[level])
        for level in range(LEVELS)
    ]
    asks = [
        QuoteLevel(price_ticks=anchor_ask + level * SPACING_TICKS, size_lots=sizes[LEVELS + level])
        for level in range(LEVELS)
    ]
    return bids, asks


def sample(service: ExecutorService, name: str, **labels: str) -> float:
    runtime = service._runtime
    assert runtime is not None
    return float(runtime.registry.get_sample_value(name, labels) or 0.0)


def settled(service: ExecutorService, target: OrderTarget) -> bool:
    state = service.own_orders[SYMBOL]
    wanted = {("buy", level.price_ticks, level.size_lots) for level in target.bids}
    wanted |= {("sell", level.price_ticks, level.size_lots) for level in target.asks}
    orders = list(state.orders.values())
    have = {
        (order.side.value, order.price_ticks, order.size_lots - order.filled_lots)
        for order in orders
    }
    return have == wanted and all(order.state.value == "live" for order in orders)


async def drive(changes: int) -> None:
    with tempfile.TemporaryDirectory() as store:
        server = NatsServer(Path(store))
        server.start()
        sim_settings = SimSettings(
            port=0, market=MarketModelConfig(auto_step=False), order_rate_limit_per_s=2000
        )
        try:
            async with running_simulator(sim_settings) as sim:
                await measure(server.url, sim, changes)
        finally:
            server.stop()


async def store_instruments(nats_url: str, rest_url: str) -> None:
    """The venue's definitions in KV, as md_gateway stores them: the executor waits for them."""
    client = await nats.connect(nats_url)
    try:
        async with RestClient(rest_url) as rest:
            definitions = await load_instruments(BybitRestApi(rest), "linear", [SYMBOL])
        js = client.jetstream()
        await ensure_layout(js)
        for definition in definitions.values():
            await store_instrument(js, definition)
    finally:
        await client.close()


async def measure(nats_url: str, sim: Any, changes: int) -> None:
    settings = load_settings(
        ExecutorSettings,
        symbols=[SYMBOL],
        nats={"url": nats_url},
        log={"level": "WARNING"},
        venue={
            "rest_url": sim.rest_url,
            "ws_url": f"ws://127.0.0.1:{sim.port}",
            "api_key": API_KEY,
            "api_secret": API_SECRET,
        },
    )
    await store_instruments(nats_url, sim.rest_url)
    service = ExecutorService(settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(service, settings, stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    client = await nats.connect(nats_url)
    book = await sim.admin.book(SYMBOL, depth=1)
    touch = (round(float(book["b"][0][0]) * 10), round(float(book["a"][0][0]) * 10))
    await publish_and_settle(client, service, touch, 0, random.Random(11), [10])
    before = counts(service)
    started = time.perf_counter()
    rng, offset = random.Random(12), [10]
    for number in range(1, changes + 1):
        await publish_and_settle(client, service, touch, number, rng, offset)
    report(changes, before, counts(service), time.perf_counter() - started)
    await client.drain()
    stop.set()
    await asyncio.wait_for(task, 15)


_SIZES = [5] * (2 * LEVELS)


async def publish_and_settle(
    client: Client,
    service: ExecutorService,
    touch: tuple[int, int],
    number: int,
    rng: random.Random,
    offset: list[int],
) -> None:
    """Move the ladder by 1-3 ticks (sometimes resize a level); wait until the orders match."""
    offset[0] = min(30, max(3, offset[0] + rng.choice((-3, -2, -1, 1, 2, 3))))
    if rng.random() < 0.2:
        _SIZES[rng.randrange(len(_SIZES))] = rng.randint(3, 9)
    bids, asks = ladder(touch[0] - offset[0], touch[1] + offset[0], _SIZES)
    target = OrderTarget(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        bids=bids,
        asks=asks,
        target_id=f"t{number}",
        intent_id=f"i{number}",
        ts_target_ns=time.time_ns(),
    )
    beat = Heartbeat(service="risk", instance_id="bench", ts_sent_ns=time.time_ns())
    await client.publish(subjects.heartbeat("risk"), encode(beat))
    await client.publish(subjects.order_target("bybit", "linear", SYMBOL), encode(target))
    await eventually(lambda: settled(service, target), timeout=10)


def counts(service: ExecutorService) -> dict[str, float]:
    values = {kind: operations(service, kind) for kind in ("create", "amend", "cancel")}
    values["changed"] = sample(service, "mm_executor_changed_orders_total")
    values["requests"] = requests(service)
    return values


def report(changes: int, before: dict[str, float], after: dict[str, float], elapsed: float) -> None:
    delta = {key: after[key] - before[key] for key in after}
    total = delta["create"] + delta["amend"] + delta["cancel"]
    print(f"target changes             {changes}")
    print(f"changed orders             {delta['changed']:.0f}")
    print(
        f"venue actions              {total:.0f}  (amend {delta['amend']:.0f}, "
        f"create {delta['create']:.0f}, cancel {delta['cancel']:.0f})"
    )
    print(f"actions per changed order  {total / delta['changed']:.3f}   (cancel + create: 2.000)")
    print(
        f"requests (batches count 1) {delta['requests']:.0f}  "
        f"({delta['requests'] / changes:.2f} per target change)"
    )
    print(f"wall time                  {elapsed:.1f} s for {changes} changes, settled one by one")


def operations(service: ExecutorService, kind: str) -> float:
    outcomes = ("ok", "refused", "already_gone", "unknown_outcome", "duplicate_refused", "retried")
    return sum(
        sample(service, "mm_executor_venue_actions_total", kind=kind, outcome=outcome)
        for outcome in outcomes
    )


def requests(service: ExecutorService) -> float:
    return sum(
        sample(service, "mm_executor_venue_requests_total", kind=kind, shape=shape)
        for kind in ("create", "amend", "cancel")
        for shape in ("single", "batch")
    )


if __name__ == "__main__":
    asyncio.run(drive(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))

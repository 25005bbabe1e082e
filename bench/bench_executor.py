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

import nats

from executor.service import ExecutorService
from executor.settings import ExecutorSettings
from mm_proto import Heartbeat, OrderTarget, QuoteLevel, encode, subjects
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
    state = service.states[SYMBOL]
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


async def measure(nats_url: str, sim: object, changes: int) -> None:
    settings = load_settings(
        ExecutorSettings,
        symbols=[SYMBOL],
        nats={"url": nats_url},
        log={"level": "WARNING"},
        venue={
            "rest_url": sim.rest_url,  # type: ignore[attr-defined]
            "ws_url": f"ws://127.0.0.1:{sim.port}",  # type: ignore[attr-defined]
            "api_key": API_KEY,
            "api_secret": API_SECRET,
        },
    )
    service = ExecutorService(settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(service, settings, stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    client = await nats.connect(nats_url)
    book = await sim.admin.book(SYMBOL, depth=1)  # type: ignore[attr-defined]
    best_bid = round(float(book["b"][0][0]) * 10)
    best_ask = round(float(book["a"][0][0]) * 10)
    rng = random.Random(11)
    offset, sizes = 10, [5] * (2 * LEVELS)
    started = time.perf_counter()
    for number in range(changes + 1):
        offset = min(30, max(3, offset + rng.choice((-3, -2, -1, 1, 2, 3))))
        if rng.random() < 0.2:
            sizes[rng.randrange(len(sizes))] = rng.randint(3, 9)
        bids, asks = ladder(best_bid - offset, best_ask + offset, sizes)
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
        await eventually(lambda target=target: settled(service, target), timeout=10)
        if number == 0:
            baseline = {kind: operations(service, kind) for kind in ("create", "amend", "cancel")}
            baseline_changed = sample(service, "mm_executor_changed_orders_total")
            baseline_requests = requests(service)
    elapsed = time.perf_counter() - started
    counts = {kind: operations(service, kind) - baseline[kind] for kind in baseline}
    changed = sample(service, "mm_executor_changed_orders_total") - baseline_changed
    total = sum(counts.values())
    sent = requests(service) - baseline_requests
    print(f"target changes             {changes}")
    print(f"changed orders             {changed:.0f}")
    print(
        f"venue actions              {total:.0f}  (amend {counts['amend']:.0f}, "
        f"create {counts['create']:.0f}, cancel {counts['cancel']:.0f})"
    )
    print(f"actions per changed order  {total / changed:.3f}   (cancel + create: 2.000)")
    print(f"requests (batches count 1) {sent:.0f}  ({sent / changes:.2f} per target change)")
    print(f"wall time                  {elapsed:.1f} s for {changes} changes, settled one by one")
    await client.drain()
    stop.set()
    await asyncio.wait_for(task, 15)


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

"""Tick-to-order latency end to end: md_gateway receives a venue frame -> the executor sends the
order request to the venue, through the whole local stack, against the same pipeline in-process.

Stack run: `mm run`'s children (mm_soak.LocalStack) with the simulator driving 10 linear symbols
at one market step per 20 ms each (10 symbols x 50 orderbook frames/s), the quoter quoting near
the touch, the sim's order rate limit raised out of the way. The executor exports its spans to a
JSON-lines file; each `order.send` span of a new target carries `order.tick_to_order_ns` (wall
clock now - OrderTarget.ts_tick_ns, taken just before the request is handed to the trade
WebSocket). This process also listens to `quote.intent.*` and `order.target.*` and joins them to
the spans by trace id, to split each sample into gateway+bus+quoter-queue, quoter+bus+risk, and
risk+bus+executor. Warm-up is discarded; the window is MEASURE_S seconds.

Floor: `bus_floor.FloorProbe`, a bare nats-py publish -> subscribe into another process on the
stack's own nats-server during the same window (one hop, nothing of ours around it).
Baseline: `latency_pipeline.run_baseline`, the same pure functions in one process without NATS.

Three tables (`latency_tables`): latency (per load, with the floor and the baseline), capacity (the
symbol count stepped at 50 frames/s each until tick->order p99 > 5 ms or the gateway falls behind
the simulator's frames), and CPU per service (share of a core and CPU per unit of work).
Run: `.venv/bin/python bench/bench_latency.py` (about 4 minutes; MM_BENCH_CAPACITY="" skips the
capacity steps, MM_BENCH_CAPACITY="10,50" chooses them; MM_BENCH_TICK_TRACE_INTERVAL=100 samples
ticks as shipped instead of every one).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from bus_floor import FloorProbe
from latency_pipeline import run_baseline
from latency_spans import split, trace_env
from latency_tables import Load, capacity_holds, print_capacity, print_cpu, print_run

from mm_proto import OrderTarget, QuoteIntent, decode
from mm_runtime.bus_auth import connect_options
from mm_runtime.lifecycle import EVENT_LOOP_ENV, event_loop_factory
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV, LocalStack

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT",
           "ADAUSDT", "AVAXUSDT", "LINKUSDT", "DOTUSDT", "LTCUSDT")  # fmt: skip
WARM_UP_S = float(os.environ.get("MM_BENCH_WARM_UP_S", "10"))
MEASURE_S = float(os.environ.get("MM_BENCH_MEASURE_S", "25"))
TRACE_ALL = os.environ.get("MM_BENCH_TRACE_ALL", "") == "1"  # where the time goes, per service
TICK_TRACE_INTERVAL = int(os.environ.get("MM_BENCH_TICK_TRACE_INTERVAL", "1"))


LOADS = (
    Load("10 symbols x 50 frames/s (the issue's load)", SYMBOLS, 20, MEASURE_S, WARM_UP_S),
    Load("2 symbols x 10 frames/s (light load)", SYMBOLS[:2], 100, MEASURE_S * 0.6, WARM_UP_S),
)
CAPACITY_STEPS = tuple(
    int(count)
    for count in os.environ.get("MM_BENCH_CAPACITY", "5,10,20,30,40,50").split(",")
    if count
)
CAPACITY_WARM_UP_S, CAPACITY_MEASURE_S = 6.0, 10.0


def capacity_symbols(count: int) -> tuple[str, ...]:
    """The ten named symbols, then synthetic ones (S11USDT, ...) as far as `count`."""
    extra = tuple(f"S{index:02d}USDT" for index in range(len(SYMBOLS) + 1, count + 1))
    return (SYMBOLS + extra)[:count]


def sim_instruments(symbols: tuple[str, ...]) -> str:
    return json.dumps(
        [
            {"symbol": s, "base_coin": s.removesuffix("USDT"), "start_price": str(1000 + 500 * i)}
            for i, s in enumerate(symbols)
        ]
    )


def stack_env(span_file: Path, load: Load) -> dict[str, dict[str, str]]:
    env = {name: dict(values) for name, values in TRADING_ENV.items()}
    env["sim"].update(
        {
            "MM_SIM_INSTRUMENTS": sim_instruments(load.symbols),
            "MM_SIM_MARKET__STEP_INTERVAL_MS": str(load.step_ms),
            "MM_SIM_ORDER_RATE_LIMIT_PER_S": "100000",
        }
    )
    env["executor"] = {
        "EXECUTOR_TELEMETRY__EXPORTER": "file",
        "EXECUTOR_TELEMETRY__FILE_PATH": str(span_file),
    }
    # The samples are the executor's order.send spans: by default every tick traced, which the
    # shipped default (one in 100) is not, so the CPU table is then tracing's worst case.
    # MM_BENCH_TICK_TRACE_INTERVAL=100 runs the shipped sampling: CPU and capacity as shipped,
    # on a hundredth of the samples.
    env["md_gateway"] = {"MD_GATEWAY_TICK_TRACE_INTERVAL": str(TICK_TRACE_INTERVAL)}
    if TRACE_ALL:
        for service, values in trace_env(span_file.parent).items():
            env.setdefault(service, {}).update(values)
    return env


class BusTap:
    """Intents by id and traced targets by trace id, as this process receives them; every
    target counted (an untraced tick's carries no trace id)."""

    def __init__(self) -> None:
        self.intents: dict[str, QuoteIntent] = {}
        self.targets: dict[str, OrderTarget] = {}
        self.targets_seen = 0

    async def on_intent(self, msg: Any) -> None:
        intent = decode(msg.data, QuoteIntent)
        self.intents[intent.intent_id] = intent

    async def on_target(self, msg: Any) -> None:
        self.targets_seen += 1
        parent = (msg.headers or {}).get("traceparent", "")
        if parent.count("-") == 3:
            self.targets[parent.split("-")[1]] = decode(msg.data, OrderTarget)


async def metric_sum(url: str, prefix: str) -> float:
    """The sum of a process's metric samples whose line starts with `prefix`."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as reply:
        text = await reply.text()
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


async def book_frames(gateway_url: str) -> float:
    """The gateway's count of venue book frames received so far."""
    return await metric_sum(gateway_url, 'md_gateway_frames_total{kind="book"')


async def conflated(stack: LocalStack) -> dict[str, float]:
    """Book tops and intents the quoter and risk skipped for a newer one (`mm_runtime.conflation`;
    0 from a tree without it)."""
    return {
        name: await metric_sum(stack.http_url(name), "mm_bus_messages_conflated_total{")
        for name in ("quoter", "risk")
    }


Result = tuple[list[int], list[tuple[int, int, int]], dict[str, Any]]


async def run_stack(work: Path, load: Load) -> Result:
    """Tick-to-order samples (ns), their three parts, and what the run looked like."""
    span_file = work / "executor.jsonl"  # latency_spans reads <service>.jsonl beside it
    env = stack_env(span_file, load)
    running = await start_stack(work / "run", symbols=load.symbols, env=env)
    tap = BusTap()
    client = running.client
    try:
        await client.subscribe("quote.intent.>", cb=tap.on_intent)
        await client.subscribe("order.target.>", cb=tap.on_target)
        gateway = running.stack.http_url("md_gateway")
        layout = running.stack.layout
        options = connect_options(layout.bus_dir)
        floor = FloorProbe(client, layout.nats_url, options, load.frames_per_s)
        await floor.start()
        await asyncio.sleep(load.warm_up_s)
        floor.measure()
        processes = {name: psutil.Process(pid) for name, pid in running.stack.pids().items()}
        cpu_before = {name: sum(proc.cpu_times()[:2]) for name, proc in processes.items()}
        frames_before, window_start = await book_frames(gateway), time.time_ns()
        skipped_before = await conflated(running.stack)
        seen_before = len(tap.intents), tap.targets_seen
        await asyncio.sleep(load.measure_s)
        frames_after, window_end = await book_frames(gateway), time.time_ns()
        skipped_after = await conflated(running.stack)
        cpu = {
            name: (sum(proc.cpu_times()[:2]) - cpu_before[name]) / load.measure_s
            for name, proc in processes.items()
        }
        info = {
            "floor": await floor.finish(),
            "window_s": load.measure_s,
            "frames_per_s": (frames_after - frames_before) / load.measure_s,
            "intents_seen": len(tap.intents) - seen_before[0],  # in the window
            "targets_seen": tap.targets_seen - seen_before[1],
            "cpu": cpu,
            "conflated": {
                name: skipped_after[name] - skipped_before[name] for name in skipped_after
            },
            "spans": split(work, (window_start, window_end)) if TRACE_ALL else [],
        }
    finally:
        await stop_stack(running)
    samples: list[int] = []
    parts: list[tuple[int, int, int]] = []
    for line in span_file.read_text().splitlines():
        span = json.loads(line)
        tick_to_order = span["attributes"].get("order.tick_to_order_ns")
        if span["name"] != "order.send" or tick_to_order is None:
            continue
        if not window_start <= span["start_ns"] <= window_end:
            continue
        samples.append(int(tick_to_order))
        target = tap.targets.get(span["trace_id"])
        intent = tap.intents.get(target.intent_id) if target else None
        if target is not None and intent is not None and intent.ts_tick_ns:
            sent = target.ts_tick_ns + int(tick_to_order)
            parts.append(
                (
                    intent.ts_intent_ns - intent.ts_tick_ns,
                    target.ts_target_ns - intent.ts_intent_ns,
                    sent - target.ts_target_ns,
                )
            )
    return samples, parts, info


def run_on_services_loop(work: Any) -> Any:
    """Run `work` on the loop the services run on, so the floor's publisher shares it too."""
    factory = event_loop_factory(os.environ.get(EVENT_LOOP_ENV, ""))
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(work)


def main() -> int:
    results = []
    for load in LOADS:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as work:
            results.append(run_on_services_loop(run_stack(Path(work), load)))
    baseline = run_baseline(symbols=len(SYMBOLS), frames_per_symbol=1500)
    for load, result in zip(LOADS, results, strict=True):
        print_run(load, result, baseline)
    print_cpu(LOADS[0], results[0])
    capacity = []
    for count in CAPACITY_STEPS:
        load = Load(f"{count} symbols", capacity_symbols(count), 20, CAPACITY_MEASURE_S,
                    CAPACITY_WARM_UP_S)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="bench-capacity-") as work:
            result = run_on_services_loop(run_stack(Path(work), load))
        capacity.append((load, result))
        print(f"capacity step {count} symbols done", file=sys.stderr)
        if not capacity_holds(load, result):
            break
    print_capacity(capacity)
    return 0


if __name__ == "__main__":
    sys.exit(main())

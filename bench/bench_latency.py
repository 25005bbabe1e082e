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

Baseline: `latency_pipeline.run_baseline`, the same pure functions in one process without NATS.
Run: `.venv/bin/python bench/bench_latency.py` (about 70 s). Prints one table.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from latency_pipeline import run_baseline
from latency_spans import PARTS, split, trace_env

from mm_proto import OrderTarget, QuoteIntent, decode
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT",
           "ADAUSDT", "AVAXUSDT", "LINKUSDT", "DOTUSDT", "LTCUSDT")  # fmt: skip
WARM_UP_S = float(os.environ.get("MM_BENCH_WARM_UP_S", "10"))
MEASURE_S = float(os.environ.get("MM_BENCH_MEASURE_S", "25"))
TRACE_ALL = os.environ.get("MM_BENCH_TRACE_ALL", "") == "1"  # where the time goes, per service


@dataclass(frozen=True)
class Load:
    """How many symbols the sim steps, and how often (one orderbook frame per step)."""

    label: str
    symbols: tuple[str, ...]
    step_ms: int
    measure_s: float

    @property
    def frames_per_s(self) -> int:
        return len(self.symbols) * 1000 // self.step_ms


LOADS = (
    Load("10 symbols x 50 frames/s (the issue's load)", SYMBOLS, 20, MEASURE_S),
    Load("2 symbols x 10 frames/s (light: the hop floor)", SYMBOLS[:2], 100, MEASURE_S * 0.6),
)
TARGETS_MS = {"p50": 1.0, "p99": 3.0}


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
    if TRACE_ALL:
        for service, values in trace_env(span_file.parent).items():
            env.setdefault(service, {}).update(values)
    return env


def percentiles(values_ns: list[int]) -> dict[str, float]:
    if not values_ns:
        return {"n": 0}
    ordered = sorted(values_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return {"n": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99),
            "max": ordered[-1] / 1e6, "mean": statistics.fmean(ordered) / 1e6}  # fmt: skip


class BusTap:
    """Intents by id and targets by trace id, as this process receives them."""

    def __init__(self) -> None:
        self.intents: dict[str, QuoteIntent] = {}
        self.targets: dict[str, OrderTarget] = {}

    async def on_intent(self, msg: Any) -> None:
        intent = decode(msg.data, QuoteIntent)
        self.intents[intent.intent_id] = intent

    async def on_target(self, msg: Any) -> None:
        parent = (msg.headers or {}).get("traceparent", "")
        if parent.count("-") == 3:
            self.targets[parent.split("-")[1]] = decode(msg.data, OrderTarget)


async def book_frames(gateway_url: str) -> float:
    """The gateway's count of venue book frames received so far."""
    async with aiohttp.ClientSession() as session, session.get(f"{gateway_url}/metrics") as reply:
        text = await reply.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('md_gateway_frames_total{kind="book"')
    )


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
        await asyncio.sleep(WARM_UP_S)
        processes = {name: psutil.Process(pid) for name, pid in running.stack.pids().items()}
        cpu_before = {name: sum(proc.cpu_times()[:2]) for name, proc in processes.items()}
        frames_before, window_start = await book_frames(gateway), time.time_ns()
        await asyncio.sleep(load.measure_s)
        frames_after, window_end = await book_frames(gateway), time.time_ns()
        cpu = {
            name: (sum(proc.cpu_times()[:2]) - cpu_before[name]) / load.measure_s
            for name, proc in processes.items()
        }
        info = {
            "window_s": load.measure_s,
            "frames_per_s": (frames_after - frames_before) / load.measure_s,
            "intents_seen": len(tap.intents),
            "targets_seen": len(tap.targets),
            "cpu": cpu,
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


def row(label: str, stats: dict[str, float]) -> str:
    if not stats.get("n"):
        return f"| {label} | 0 | - | - | - | - |"
    return (f"| {label} | {stats['n']} | {stats['p50']:.3f} | {stats['p90']:.3f} | "
            f"{stats['p99']:.3f} | {stats['max']:.3f} |")  # fmt: skip


def print_run(load: Load, result: Result, baseline: dict[str, float]) -> None:
    samples, parts, info = result
    stats = percentiles(samples)
    print(f"\n### {load.label}: {info['window_s']:.0f} s window after {WARM_UP_S:.0f} s warm-up\n")
    print("| tick -> order sent (ms) | samples | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|")
    print(row("stack: gateway -> NATS -> quoter -> NATS -> risk -> NATS -> executor", stats))
    print(row("in-process baseline (same pure code, no NATS)", baseline))
    for index, label in enumerate(("  frame -> intent (gateway, bus, quoter queue)",
                                   "  intent -> target (quoter publish, bus, risk)",
                                   "  target -> sent (risk publish, bus, executor)")):  # fmt: skip
        print(row(label, percentiles([part[index] for part in parts])))
    if stats.get("n") and baseline.get("n"):
        print(f"\nratio stack/baseline: p50 {stats['p50'] / baseline['p50']:.1f}x, "
              f"p99 {stats['p99'] / baseline['p99']:.1f}x (target <= 2x)")  # fmt: skip
        for name, limit in TARGETS_MS.items():
            verdict = "met" if stats[name] <= limit else "NOT met"
            print(f"target {name} <= {limit} ms: {verdict} ({stats[name]:.3f} ms)")
    busy = ", ".join(f"{name} {share:.0%}" for name, share in info["cpu"].items())
    print(f"CPU in the window (100% = one core; {os.cpu_count()} cores): {busy}")
    if info["spans"]:
        print("\n| where the time goes (every service exporting spans; ms) | samples | p50 | p90 "
              "| p99 | max |\n|---|---|---|---|---|---|")  # fmt: skip
        for index, label in enumerate(PARTS):
            print(row(label, percentiles([part[index] for part in info["spans"]])))
    print(f"gateway book frames {info['frames_per_s']:.0f}/s (sim target {load.frames_per_s}/s); "
          f"intents seen {info['intents_seen']}, targets seen {info['targets_seen']}, "
          f"samples joined to their intent and target {len(parts)}")  # fmt: skip


def main() -> int:
    results = []
    for load in LOADS:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as work:
            results.append(asyncio.run(run_stack(Path(work), load)))
    baseline = percentiles(run_baseline(symbols=len(SYMBOLS), frames_per_symbol=1500))
    for load, result in zip(LOADS, results, strict=True):
        print_run(load, result, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())

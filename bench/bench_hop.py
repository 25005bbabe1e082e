"""One process hop through the runtime's `Bus` against the same hop through bare nats-py.

A relay child subscribes to `hop.in` and publishes what it receives on `hop.out`; this process
publishes a `QuoteIntent` carrying its wall-clock stamp and a sampled `traceparent` (as every
message on the stack carries at the default sample ratio of 1; MM_BENCH_HOP_TRACE_FLAGS=00 sends
an unsampled one) at `RATE_HZ`, receives the relay's copy and records the round trip. The relay
is one of:

- `bare`: plain nats-py `subscribe(cb=...)` and `publish(data, headers)`, nothing of ours;
- `bus`: the runtime's `Bus.subscribe` (decode, trace context, received counter) and, in the
  handler, `child_span` and `Bus.publish` (encode, trace headers, published counter): what each
  fast-path service does around its own work.

Each relay runs on the stock asyncio loop or on uvloop. `MM_BENCH_HOP_BASE=<dir>` adds `bus-base`
variants whose relay imports `mm_runtime` from `<dir>` (e.g. `git archive main libs/runtime/src`
unpacked) for a before/after in the same run. Variants are alternated over `ROUNDS` rounds on one
private nats-server; printed per variant: round-trip p50/p90/p99 and the relay's CPU per message
(process time over the messages it relayed: load-independent where wall clock is not), and each
variant's p50 over the bare asyncio relay's.

Run: `.venv/bin/python bench/bench_hop.py` (about 3 minutes; MM_BENCH_HOP_ROUNDS, _SECONDS and
_RATE_HZ change the defaults).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import uvloop

from mm_proto import QuoteIntent, QuoteLevel, decode, encode
from mm_runtime.nats_server import NatsServer

ROUNDS = int(os.environ.get("MM_BENCH_HOP_ROUNDS", "3"))
SECONDS = float(os.environ.get("MM_BENCH_HOP_SECONDS", "8"))
RATE_HZ = float(os.environ.get("MM_BENCH_HOP_RATE_HZ", "20"))
BASE = os.environ.get("MM_BENCH_HOP_BASE", "")
TRACE_FLAGS = os.environ.get("MM_BENCH_HOP_TRACE_FLAGS", "01")  # 00: the tick is not sampled
TRACEPARENT = f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{TRACE_FLAGS}"
VARIANTS = ("bare asyncio", "bare uvloop") + (
    ("bus-base asyncio", "bus-base uvloop") if BASE else ()
) + ("bus asyncio", "bus uvloop")  # fmt: skip


def stamped(stamp_ns: int) -> bytes:
    level = QuoteLevel(price_ticks=1000, size_lots=10)
    intent = QuoteIntent(
        venue="bybit", category="linear", symbol="BTCUSDT", bids=[level] * 3, asks=[level] * 3,
        source_update_id=1, intent_id="hop", ts_source_ns=0, ts_intent_ns=stamp_ns,
    )  # fmt: skip
    return encode(intent)


async def probe(url: str, variant: str) -> tuple[list[int], float]:
    """Round trips (ns) through one relay child, and the relay's CPU per message (us)."""
    relay_kind, loop = variant.split()
    env = dict(os.environ)
    if relay_kind == "bus-base":
        env["PYTHONPATH"] = BASE
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "relay", relay_kind, loop, url, env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    await asyncio.wait_for(child.stdout.readline(), 20)  # "ready"
    client = await nats.connect(url)
    samples: list[int] = []

    async def on_reply(msg: Any) -> None:
        samples.append(time.time_ns() - decode(msg.data, QuoteIntent).ts_intent_ns)

    await client.subscribe("hop.out", cb=on_reply)
    await client.flush()
    for _ in range(int(SECONDS * RATE_HZ)):
        await client.publish(
            "hop.in", stamped(time.time_ns()), headers={"traceparent": TRACEPARENT}
        )
        await asyncio.sleep(1 / RATE_HZ)
    await client.publish("hop.end", b"end")
    line = await asyncio.wait_for(child.stdout.readline(), 20)
    await child.wait()
    await client.close()
    return samples[1:], json.loads(line)["cpu_us_per_message"]


async def relay_bare(url: str) -> None:
    client = await nats.connect(url)
    done = asyncio.Event()
    counted = Counted()

    async def on_message(msg: Any) -> None:
        counted.tick()
        await client.publish("hop.out", msg.data, headers=msg.headers)

    async def on_end(_msg: Any) -> None:
        done.set()

    await client.subscribe("hop.in", cb=on_message)
    await client.subscribe("hop.end", cb=on_end)
    await finish(client, done, counted)


async def relay_bus(url: str) -> None:
    from prometheus_client import CollectorRegistry

    from mm_runtime.bus import connect
    from mm_runtime.metrics import RuntimeMetrics
    from mm_runtime.settings import NatsSettings, TelemetrySettings
    from mm_runtime.telemetry import Telemetry, child_span

    bus = await connect(NatsSettings(url=url), "hop-relay", RuntimeMetrics(CollectorRegistry()))
    tracer = Telemetry("hop-relay", TelemetrySettings()).tracer
    done = asyncio.Event()
    counted = Counted()

    async def on_intent(intent: QuoteIntent, context: Any, _msg: Any) -> None:
        counted.tick()
        with child_span(tracer, "hop.relay", context):
            await bus.publish("hop.out", intent)

    async def on_end(_msg: Any) -> None:
        done.set()

    await bus.subscribe("hop.in", QuoteIntent, on_intent)
    await bus.client.subscribe("hop.end", cb=on_end)
    await finish(bus.client, done, counted)


class Counted:
    """Messages relayed and the process time since the first."""

    def __init__(self) -> None:
        self.count = 0
        self.started = 0.0

    def tick(self) -> None:
        if self.count == 0:
            self.started = time.process_time()
        self.count += 1


async def finish(client: Any, done: asyncio.Event, counted: Counted) -> None:
    await client.flush()
    print("ready", flush=True)
    await done.wait()
    cpu_us = (time.process_time() - counted.started) / max(counted.count - 1, 1) * 1e6
    await client.close()
    print(json.dumps({"cpu_us_per_message": cpu_us}), flush=True)


def relay_main(kind: str, loop: str, url: str) -> None:
    work = relay_bare(url) if kind == "bare" else relay_bus(url)
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(work)


def quantile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1e6


def print_table(results: dict[str, list[tuple[list[int], float]]]) -> None:
    floor = statistics.median(
        statistics.median(samples) / 1e6 for samples, _ in results["bare asyncio"]
    )
    print(
        f"\nround trip probe -> relay -> probe at {RATE_HZ:g} Hz, {ROUNDS} rounds x {SECONDS:g} s"
    )
    print("| relay | samples | p50 (ms) | p90 | p99 | p50 over bare asyncio | relay CPU/msg (us) |")
    print("|---|---|---|---|---|---|---|")
    for variant in VARIANTS:
        samples = [value for run, _ in results[variant] for value in run]
        p50 = statistics.median(statistics.median(run) / 1e6 for run, _ in results[variant])
        cpu = statistics.median(cpu for _, cpu in results[variant])
        print(
            f"| {variant} | {len(samples)} | {p50:.3f} | {quantile(samples, 0.9):.3f} | "
            f"{quantile(samples, 0.99):.3f} | {p50 - floor:+.3f} | {cpu:.1f} |"
        )


async def run_all(url: str) -> dict[str, list[tuple[list[int], float]]]:
    results: dict[str, list[tuple[list[int], float]]] = {variant: [] for variant in VARIANTS}
    for round_index in range(ROUNDS):
        order = VARIANTS if round_index % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            results[variant].append(await probe(url, variant))
            print(f"round {round_index + 1} {variant} done", file=sys.stderr)
    return results


def main() -> int:
    if sys.argv[1:2] == ["relay"]:
        relay_main(*sys.argv[2:5])
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-hop-") as work:
        server = NatsServer(Path(work) / "nats")
        server.start(jetstream=False)
        try:
            results = uvloop.run(run_all(server.url))
        finally:
            server.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

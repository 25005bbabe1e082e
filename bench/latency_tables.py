"""The tables `bench_latency.py` prints: latency per load (with the bare-bus floor and the
in-process baseline of the same run), CPU per service, and the capacity steps."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any

from latency_spans import PARTS

TARGETS_MS = {"p50": 1.5, "p99": 4.0}  # the load; light load: p50 <= 1.2 ms
LIGHT_P50_MS = 1.2
HOP_OVER_FLOOR_MS = 0.15
CAPACITY_P99_MS = 5.0
CAPACITY_FRAME_SHARE = 0.95  # the gateway must see this share of the sim's book steps
STACK = ("nats", "md_gateway", "quoter", "risk", "executor")  # the fast path's processes
# CPU per unit of work: which count each service's CPU is divided by, and the target (us).
CPU_UNITS = {
    "md_gateway": ("book frame", "frames", 8.0),
    "quoter": ("intent", "intents", 40.0),
    "risk": ("intent", "intents", 40.0),
    "executor": ("target", "targets", 60.0),
}

Result = tuple[list[int], list[tuple[int, int, int]], dict[str, Any]]


@dataclass(frozen=True)
class Load:
    """How many symbols the sim steps, and how often (one orderbook frame per step)."""

    label: str
    symbols: tuple[str, ...]
    step_ms: int
    measure_s: float
    warm_up_s: float

    @property
    def frames_per_s(self) -> int:
        return len(self.symbols) * 1000 // self.step_ms


def percentiles(values_ns: list[int]) -> dict[str, float]:
    if not values_ns:
        return {"n": 0}
    ordered = sorted(values_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

    return {"n": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99),
            "max": ordered[-1] / 1e6, "mean": statistics.fmean(ordered) / 1e6}  # fmt: skip


def row(label: str, stats: dict[str, float]) -> str:
    if not stats.get("n"):
        return f"| {label} | 0 | - | - | - | - |"
    return (f"| {label} | {stats['n']} | {stats['p50']:.3f} | {stats['p90']:.3f} | "
            f"{stats['p99']:.3f} | {stats['max']:.3f} |")  # fmt: skip


def print_run(load: Load, result: Result, baseline_ns: list[int]) -> None:
    samples, parts, info = result
    stats, baseline, floor = (
        percentiles(samples),
        percentiles(baseline_ns),
        percentiles(info["floor"]),
    )
    print(f"\n### {load.label}: {info['window_s']:.0f} s window, {load.warm_up_s:.0f} s warm-up\n")
    print("| tick -> order sent (ms) | samples | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|")
    print(row("stack: gateway -> NATS -> quoter -> NATS -> risk -> NATS -> executor", stats))
    print(row("in-process baseline (same pure code, no NATS)", baseline))
    print(row("bare nats-py floor: one hop, same server, same window", floor))
    hops = [percentiles([part[index] for part in parts]) for index in range(3)]
    labels = ("  frame -> intent (gateway, bus, quoter queue)",
              "  intent -> target (quoter publish, bus, risk)",
              "  target -> sent (risk publish, bus, executor)")  # fmt: skip
    for label, hop in zip(labels, hops, strict=True):
        print(row(label, hop))
    if stats.get("n") and baseline.get("n"):
        print(f"\nratio stack/baseline: p50 {stats['p50'] / baseline['p50']:.1f}x, "
              f"p99 {stats['p99'] / baseline['p99']:.1f}x")  # fmt: skip
        targets = TARGETS_MS if load.frames_per_s >= 500 else {"p50": LIGHT_P50_MS}
        for name, limit in targets.items():
            verdict = "met" if stats[name] <= limit else "NOT met"
            print(f"target {name} <= {limit} ms: {verdict} ({stats[name]:.3f} ms)")
    if floor.get("n") and all(hop.get("n") for hop in hops):
        over = ", ".join(f"{hop['p50'] - floor['p50']:+.3f}" for hop in hops)
        verdict = (
            "met" if all(h["p50"] - floor["p50"] <= HOP_OVER_FLOOR_MS for h in hops) else "NOT met"
        )
        print(f"each hop's p50 over the floor's p50 (ms): {over}; target <= {HOP_OVER_FLOOR_MS}: "
              f"{verdict}")  # fmt: skip
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


def print_cpu(load: Load, result: Result) -> None:
    """Per service: share of a core in the window and CPU per unit of its work."""
    info = result[2]
    window = info["window_s"]
    per_s = {"frames": info["frames_per_s"], "intents": info["intents_seen"] / window,
             "targets": info["targets_seen"] / window}  # fmt: skip
    print(f"\n### CPU per service, {load.label}\n")
    print("| process | CPU (% of a core) | per unit (us) | unit | target (us) | |")
    print("|---|---|---|---|---|---|")
    for name, share in info["cpu"].items():
        if name not in CPU_UNITS:
            print(f"| {name} | {share:.0%} | - | - | - | |")
            continue
        unit, count, target = CPU_UNITS[name]
        rate = per_s[count]
        cost = share * 1e6 / rate if rate else float("nan")
        verdict = "met" if cost <= target else "NOT met"
        print(f"| {name} | {share:.0%} | {cost:.1f} | {unit} ({rate:.0f}/s) | {target:.0f} | "
              f"{verdict} |")  # fmt: skip


def capacity_holds(load: Load, result: Result) -> bool:
    stats = percentiles(result[0])
    frames_ok = result[2]["frames_per_s"] >= CAPACITY_FRAME_SHARE * load.frames_per_s
    return bool(stats.get("n")) and stats["p99"] <= CAPACITY_P99_MS and frames_ok


def print_capacity(steps: list[tuple[Load, Result]]) -> None:
    """One row per symbol count; the largest that held is the capacity."""
    print(f"\n### Capacity: symbols at 50 book frames/s each until tick->order p99 > "
          f"{CAPACITY_P99_MS} ms or the gateway sees < "
          f"{CAPACITY_FRAME_SHARE:.0%} of the frames\n")  # fmt: skip
    print("| symbols | sim frames/s | gateway book frames/s | samples | p50 | p99 | stack CPU "
          "(cores) | sim CPU (cores) | holds |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    held = 0
    for load, result in steps:
        stats, info = percentiles(result[0]), result[2]
        stack_cpu = sum(share for name, share in info["cpu"].items() if name in STACK)
        holds = capacity_holds(load, result)
        held = len(load.symbols) if holds else held
        p50, p99 = (f"{stats['p50']:.3f}", f"{stats['p99']:.3f}") if stats.get("n") else ("-", "-")
        print(f"| {len(load.symbols)} | {load.frames_per_s} | {info['frames_per_s']:.0f} | "
              f"{stats.get('n', 0)} | {p50} | {p99} | {stack_cpu:.2f} | "
              f"{info['cpu'].get('sim', 0.0):.2f} | {'yes' if holds else 'NO'} |")  # fmt: skip
    verdict = "met" if held >= 50 else "NOT met"
    print(f"\ncapacity: {held} symbols (target >= 50: {verdict})")

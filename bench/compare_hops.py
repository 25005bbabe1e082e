"""Before/after of the stack's process hops in one run: the same stack alternately on another
runtime tree (the "before") and on this one, pair after pair, each against its own bare-bus floor.

`MM_BENCH_HOPS_BASE=<dirs>` is a `libs/runtime/src` (or several source directories joined as
in PYTHONPATH) to run the services on for the "before" side
(e.g. `git archive main libs/runtime/src | tar -x -C /tmp/base`); its services run on the loop
`MM_BENCH_HOPS_BASE_LOOP` names (default asyncio, what a runtime before uvloop ran on), and so do
its floor and the bench's publisher. The "after" side is this tree on its default loop. Each run
is `bench_latency.run_stack` at the light load (2 symbols x 10 frames/s: nothing queues, so what is
left over the floor is the fixed cost of each hop), or at the issue's load with
`MM_BENCH_HOPS_LOAD=issue`, or at N symbols x 50 frames/s with `MM_BENCH_HOPS_LOAD=N` (a
capacity step, measured over the issue load's window). `MM_BENCH_HOPS_AFTER_ENV=NAME=value,...`
sets environment for the after side's services only (settings the before side's code would refuse
as unknown). Printed: one row per run (tick->order
p50 and p99, the floor's p50, each hop's p50 and its excess over the floor, CPU of the fast-path
services, the gateway's book frames, intents and targets, and what the quoter and risk
conflated), then per side the median over the pairs, and the median over the pairs of the
after/before ratios.

Run: `MM_BENCH_HOPS_BASE=/tmp/base/libs/runtime/src .venv/bin/python bench/compare_hops.py`
(MM_BENCH_HOPS_PAIRS, default 3; about 45 s a run at the light load).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_latency import LOADS, capacity_symbols, run_on_services_loop, run_stack
from latency_tables import Load, percentiles

BASE = os.environ.get("MM_BENCH_HOPS_BASE", "")
BASE_LOOP = os.environ.get("MM_BENCH_HOPS_BASE_LOOP", "asyncio")
PAIRS = int(os.environ.get("MM_BENCH_HOPS_PAIRS", "3"))


def chosen_load(name: str) -> Load:
    """`light`, `issue`, or a symbol count at 50 frames/s each over the issue load's window."""
    if name in ("light", "issue"):
        return LOADS[0] if name == "issue" else LOADS[1]
    count, issue = int(name), LOADS[0]
    symbols = capacity_symbols(count)
    return Load(f"{count} symbols x 50 frames/s", symbols, 20, issue.measure_s, issue.warm_up_s)


LOAD = chosen_load(os.environ.get("MM_BENCH_HOPS_LOAD", "light"))
FAST_PATH = ("md_gateway", "quoter", "risk", "executor")
HOPS = ("frame->intent", "intent->target", "target->sent")


def after_settings(spec: str) -> dict[str, str]:
    """`NAME=value,NAME=value` as a mapping (the after side's extra settings)."""
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"MM_BENCH_HOPS_AFTER_ENV: expected NAME=value,..., was {spec!r}")
    return {name.strip(): value.strip() for name, value in pairs}


AFTER_ENV = after_settings(os.environ.get("MM_BENCH_HOPS_AFTER_ENV", ""))


def side_environment(side: str) -> dict[str, str | None]:
    """What the children inherit for one side (None: unset)."""
    if side == "before":
        return {"PYTHONPATH": BASE, "MM_EVENT_LOOP": BASE_LOOP} | dict.fromkeys(AFTER_ENV)
    return {"PYTHONPATH": None, "MM_EVENT_LOOP": None} | AFTER_ENV


def run_side(side: str, load: Load) -> dict[str, Any]:
    names = ("PYTHONPATH", "MM_EVENT_LOOP", *AFTER_ENV)
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name, value in side_environment(side).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with tempfile.TemporaryDirectory(prefix="bench-hops-") as work:
            samples, parts, info = run_on_services_loop(run_stack(Path(work), load))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    floor = percentiles(info["floor"]).get("p50", float("nan"))
    hops = [
        percentiles([part[index] for part in parts]).get("p50", float("nan")) for index in range(3)
    ]
    stats = percentiles(samples)
    return {
        "side": side,
        "tick_to_order": stats.get("p50", float("nan")),
        "p99": stats.get("p99", float("nan")),
        "frames": info["frames_per_s"],
        "intents": info["intents_seen"] / info["window_s"],
        "targets": info["targets_seen"] / info["window_s"],
        "conflated": {name: count / info["window_s"] for name, count in info["conflated"].items()},
        "floor": floor,
        "hops": hops,
        "over": [hop - floor for hop in hops],
        "cpu": {name: info["cpu"].get(name, 0.0) for name in FAST_PATH},
        "samples": len(samples),
    }


def print_row(run: dict[str, Any]) -> None:
    hops = " | ".join(
        f"{hop:.3f} ({over:+.3f})" for hop, over in zip(run["hops"], run["over"], strict=True)
    )
    cpu = ", ".join(f"{share:.1%}" for share in run["cpu"].values())
    skipped = ", ".join(f"{rate:.0f}" for rate in run["conflated"].values())
    print(f"| {run['side']} | {run['samples']} | {run['tick_to_order']:.3f} | {run['p99']:.3f} | "
          f"{run['floor']:.3f} | {hops} | {sum(run['over']):+.3f} | {cpu} | {run['frames']:.0f} | "
          f"{run['intents']:.0f} / {run['targets']:.0f} | {skipped} |")  # fmt: skip


def summary(runs: list[dict[str, Any]]) -> None:
    by_side = {side: [run for run in runs if run["side"] == side] for side in ("before", "after")}
    print("\n| side (median of pairs) | tick->order p50 | floor p50 | " +
          " | ".join(f"{hop} over floor" for hop in HOPS) + " | sum over floor |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for side, side_runs in by_side.items():
        over = [statistics.median(run["over"][index] for run in side_runs) for index in range(3)]
        print(f"| {side} | {statistics.median(r['tick_to_order'] for r in side_runs):.3f} | "
              f"{statistics.median(r['floor'] for r in side_runs):.3f} | "
              + " | ".join(f"{value:+.3f}" for value in over)
              + f" | {statistics.median(sum(r['over']) for r in side_runs):+.3f} |")  # fmt: skip
    pairs = list(zip(by_side["before"], by_side["after"], strict=True))
    ratio = statistics.median(a["tick_to_order"] / b["tick_to_order"] for b, a in pairs)
    tail = statistics.median(a["p99"] / b["p99"] for b, a in pairs)
    excess = statistics.median(sum(a["over"]) / sum(b["over"]) for b, a in pairs)
    cpu = statistics.median(sum(a["cpu"].values()) / sum(b["cpu"].values()) for b, a in pairs)
    print(f"\nmedian of the pairs' after/before ratios: tick->order p50 {ratio:.2f}, "
          f"p99 {tail:.2f}, sum of the hops' excess over the floor {excess:.2f}, "
          f"CPU of the four fast-path services {cpu:.2f}")  # fmt: skip


def main() -> int:
    if not BASE:
        print("set MM_BENCH_HOPS_BASE to the runtime tree to compare against", file=sys.stderr)
        return 2
    runs = []
    for pair in range(PAIRS):
        for side in ("before", "after") if pair % 2 == 0 else ("after", "before"):
            runs.append(run_side(side, LOAD))
            print(f"pair {pair + 1} {side} done", file=sys.stderr)
    print(f"\n{LOAD.label}, {PAIRS} pairs alternated; load average at the end "
          f"{os.getloadavg()[0]:.2f}\n")  # fmt: skip
    print("| side | samples | tick->order p50 (ms) | p99 | floor p50 | " +
          " | ".join(f"{hop} p50 (over floor)" for hop in HOPS) +
          " | sum over floor | CPU gateway, quoter, risk, executor | gateway book frames/s | "
          "intents / targets per s | conflated per s (quoter, risk) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        print_row(run)
    summary(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

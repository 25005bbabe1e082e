"""Benchmark of `mm backtest`'s replay: recorded frames/s through the whole stack on one core.

A synthetic recording of 10 symbols at 50 book steps a second each (the simulator's seeded
market written by `mm_backtest.synthetic`, with its trades) is written outside the timed region,
then replayed through the gateway's Rust book, the quoter, risk, the executor's planner, the
simulator's matching and the ledger, with 2 ms feed and 10 ms order latency. The issue's target:
>= 25,000 frames/s (50x real time for this load), judged on wall time; frames per CPU second
(process time) beside it is the figure to compare on a machine shared with other work (see
`bench/compare_backtest.py` for a before/after against a revision). The second table is where
the time goes: a profiled run's own time summed by the package each function lives in.
`--seconds` sets the recording's length (default 20 s of market time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from mm_backtest.engine import Backtest
from mm_backtest.latency import constant_ms
from mm_backtest.params import parse_params
from mm_backtest.synthetic import instrument, write_recording

SYMBOLS = 10
FRAMES_PER_S = 50
TARGET_FPS = 25_000
ROWS: tuple[tuple[str, dict[str, object]], ...] = (
    ("3 levels at 0.1 bps, requote on a 2-tick move", {}),
    (
        "3 levels at 1 bps, requote on a 5-tick move",
        {"min_spread_bps": 1, "refresh_price_ticks": 5},
    ),
    ("quoter disabled: book, matching, ledger only", {"enabled": False}),
)
PACKAGES = (
    ("mm_sim", "matching (mm_sim)"),
    ("md_gateway", "gateway book + feed state"),
    ("mm_orderbook", "gateway book + feed state"),
    ("quoter", "quoter"),
    ("risk", "risk"),
    ("executor", "planner (executor)"),
    ("mm_bybit", "venue <-> contract conversion (mm_bybit)"),
    ("ledger", "ledger"),
    ("mm_proto", "contract types (mm_proto)"),
    ("mm_backtest", "backtest loop, reading, desk"),
)


def params_document(quoter: dict[str, object] | None = None) -> dict[str, object]:
    names = [f"S{index:02d}USDT" for index in range(SYMBOLS)]
    return {
        "instruments": [
            instrument(name, index).model_dump(mode="json") for index, name in enumerate(names)
        ],
        "venue": {"maker_fee_rate": "-0.00005"},
        "quoter": {
            "min_spread_bps": 0.1,
            "k_vola_spread": 0,
            "level_size_lots": 10,
            "max_inventory_lots": 100,
            "levels": 3,
            "refresh_price_ticks": 2,
        }
        | (quoter or {}),
    }


def component(filename: str) -> str:
    for package, label in PACKAGES:
        if f"/{package}/" in filename:
            return label
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (json, heapq, Decimal, ...)"
    return "other Python (stdlib, pydantic, msgspec)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        configs = list(parse_params(params_document()).instruments)
        lines = write_recording(data, configs, arguments.seconds, FRAMES_PER_S, volatility_ticks=2)
        print(f"recording: {SYMBOLS} symbols x {FRAMES_PER_S} book steps/s, {lines} lines")
        print()
        print(
            "| strategy | frames | intents | fills | seconds | frames/s | frames/CPU-s "
            "| x real time | target |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for label, quoter in ROWS:
            params = parse_params(params_document(quoter))
            run = Backtest(params, [data], constant_ms(2), constant_ms(10))
            started, started_cpu = time.perf_counter(), time.process_time()
            result = run.run()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
            rate = result.frames / elapsed
            market_s = (result.end_ns - result.start_ns) / 1e9
            verdict = "met" if rate >= TARGET_FPS else "**not met**"
            print(
                f"| {label} | {result.frames} | {run.stack.intents} | {len(result.fills)} | "
                f"{elapsed:.2f} | {rate:,.0f} | {result.frames / cpu:,.0f} | "
                f"{market_s / elapsed:.1f} | {verdict} |"
            )
        profiled = Backtest(
            parse_params(params_document()), [data], constant_ms(2), constant_ms(10)
        )
        profiler.runcall(profiled.run)
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        totals[component(filename)] = totals.get(component(filename), 0.0) + row[2]
    whole = sum(totals.values())
    print()
    print("| where the time goes (first row, profiled; own time) | share |")
    print("|---|---|")
    for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"| {label} | {seconds / whole:.1%} |")


if __name__ == "__main__":
    main()

"""Stale-book exposure on a venue WebSocket drop, from the chaos drill, repeated.

Starts the drills' trading stack (`mm_soak`, as `tests/system/test_chaos_drills.py` does), waits
for orders, then runs the `drop-venue-ws` drill RUNS times (every venue socket aborted at TCP
level) and prints, per run, the drill's longest bad-book exposure: from the moment this process
receives a symbol's non-live `md.status.*` while that symbol has orders live at the venue until
the last of them is reported gone (times are this process's receive times, so they include the
bus hops both ways). The issue's target is <= 100 ms. Not part of `make bench` (it is a drill).

    .venv/bin/python bench/drill_stale_book.py            # 5 runs, about 60 s
    MM_DRILL_RUNS=10 .venv/bin/python bench/drill_stale_book.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

from mm_runtime.testing import eventually
from mm_soak import DRILLS, run_drill
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

RUNS = int(os.environ.get("MM_DRILL_RUNS", "5"))
TARGET_S = 0.1


async def main(work: Path) -> int:
    running = await start_stack(work / "run", env=TRADING_ENV)
    exposures: list[float] = []
    failed: list[str] = []
    try:
        await eventually(lambda: running.watch.activity_at, timeout=30, message="orders placed")
        for index in range(RUNS):
            result = await run_drill(
                DRILLS["drop-venue-ws"], running.stack, running.watch, running.audit, None
            )
            exposures.append(result.longest_exposure_s)
            print(f"run {index + 1}: exposure {result.longest_exposure_s * 1000:.0f} ms "
                  f"({result.exposure_reason or 'no orders live when the feed went stale'}); "
                  f"resumed after {result.resumed_after_s} s; audit {result.audit}")  # fmt: skip
            failed.extend(result.failures)
    finally:
        await stop_stack(running)
    print("\n| drop-venue-ws stale-book exposure (ms) | runs | median | max | target |")
    print("|---|---|---|---|---|")
    median, worst = statistics.median(exposures) * 1000, max(exposures) * 1000
    verdict = "met" if worst <= TARGET_S * 1000 else "NOT met"
    print(f"| drop -> last order gone (drill measure) | {len(exposures)} | {median:.0f} | "
          f"{worst:.0f} | <= {TARGET_S * 1000:.0f}: {verdict} |")  # fmt: skip
    if failed:
        print("drill failures:", failed)
    return 1 if failed else 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="drill-stale-") as directory:
        sys.exit(asyncio.run(main(Path(directory))))

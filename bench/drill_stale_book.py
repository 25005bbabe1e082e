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
import time
from pathlib import Path

from mm_bybit.raw import Order
from mm_runtime.testing import eventually
from mm_soak import DRILLS, run_drill
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV
from mm_soak.venue_audit import VenueAudit
from mm_soak.venue_orders import lifetimes

RUNS = int(os.environ.get("MM_DRILL_RUNS", "5"))
TARGET_S = 0.1
CATEGORY = "linear"


async def venue_orders(audit: VenueAudit, since_ms: int) -> list[Order]:
    """Orders since `since_ms` with the open and last closed ones, each once (as the drills)."""
    found: dict[str, Order] = {}
    for order in (
        *await audit.api.order_history(CATEGORY, since_ms),
        *await audit.api.closed_orders(CATEGORY),
        *await audit.api.open_orders(CATEGORY),
    ):
        found[order.order_id] = order
    return list(found.values())


async def off_the_book_after(audit: VenueAudit, drop_s: float) -> float:
    """Seconds from `drop_s` (wall clock) until the last order resting then left the book."""
    orders = await venue_orders(audit, int(drop_s * 1000) - 60_000)
    spans = [span for per_symbol in lifetimes(orders, time.time()).values() for span in per_symbol]
    return max((left - drop_s for reached, left in spans if reached <= drop_s < left), default=0.0)


async def main(work: Path) -> int:
    running = await start_stack(work / "run", env=TRADING_ENV)
    exposures: list[float] = []
    venue: list[float] = []
    failed: list[str] = []
    try:
        await eventually(lambda: running.watch.activity_at, timeout=30, message="orders placed")
        for index in range(RUNS):
            drop_s = time.time()
            result = await run_drill(
                DRILLS["drop-venue-ws"], running.stack, running.watch, running.audit, None
            )
            exposures.append(result.longest_exposure_s)
            venue.append(await off_the_book_after(running.audit, drop_s))
            print(f"run {index + 1}: venue {venue[-1] * 1000:.0f} ms; "
                  f"drill exposure {result.longest_exposure_s * 1000:.0f} ms "
                  f"({result.exposure_reason or 'no orders live when the feed went stale'}); "
                  f"resumed after {result.resumed_after_s} s; audit {result.audit}")  # fmt: skip
            failed.extend(result.failures)
    finally:
        await stop_stack(running)
    print("\n| drop-venue-ws stale-book exposure (ms) | runs | median | max | target |")
    print("|---|---|---|---|---|")
    measures = (("drop -> last resting order off the venue's book (venue history)", venue),
                ("status -> orders reported gone or book live (drill)", exposures))  # fmt: skip
    for label, values in measures:
        median, worst = statistics.median(values) * 1000, max(values) * 1000
        verdict = "met" if worst <= TARGET_S * 1000 else "NOT met"
        print(f"| {label} | {len(values)} | {median:.0f} | {worst:.0f} | "
              f"<= {TARGET_S * 1000:.0f}: {verdict} |")  # fmt: skip
    if failed:
        print("drill failures:", failed)
    return 1 if failed else 0


if __name__ == "__main__":
    if os.environ.get("MM_DRILL_DIR"):  # keep the run (logs) there
        sys.exit(asyncio.run(main(Path(os.environ["MM_DRILL_DIR"]))))
    with tempfile.TemporaryDirectory(prefix="drill-stale-") as directory:
        sys.exit(asyncio.run(main(Path(directory))))

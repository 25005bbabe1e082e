"""Every start of the executor publishes the venue's position per symbol as a reconciliation
baseline (`Position.reconciled`), under a message id of its own, so that a restart whose baseline
repeats an earlier one (a flat venue after a flat venue) is still stored and risk can adopt it."""

from __future__ import annotations

import time
from typing import Any

from mm_proto import Position
from mm_runtime.testing import eventually

SYMBOL = "BTCUSDT"


async def _baselines(harness: Any, count: int) -> list[Position] | None:
    positions = await harness.stream("exec_position")
    baselines = [p for p in positions if isinstance(p, Position) and p.reconciled]
    return baselines if len(baselines) >= count else None


async def test_each_start_publishes_the_venues_position_as_a_baseline(harness: Any) -> None:
    started_ns = time.time_ns()
    service = await harness.start_executor(harness.settings())
    first = await eventually(lambda: _baselines(harness, 1), timeout=10, message="a baseline")
    assert [(p.symbol, p.size_lots) for p in first] == [(SYMBOL, 0)]
    # When the read went out: risk tells a fresh venue's first fills from an earlier life's by it.
    assert started_ns < first[0].ts_read_ns < time.time_ns()
    await harness.stop_executor(service)

    await harness.start_executor(harness.settings())
    both = await eventually(lambda: _baselines(harness, 2), timeout=10, message="two baselines")
    assert [(p.symbol, p.size_lots) for p in both] == [(SYMBOL, 0), (SYMBOL, 0)]

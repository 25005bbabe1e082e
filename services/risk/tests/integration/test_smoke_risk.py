"""Smoke: risk starts, passes a clean intent through as a target, and heartbeats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book


async def test_an_intent_within_every_limit_becomes_the_same_target(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.book()
    await eventually(lambda: bus.heartbeats, timeout=5)
    bids, asks = [(MID - 20, 2)], [(MID + 20, 2)]
    await bus.intent(bids, asks, intent_id="clean", ts_tick_ns=123_456_789)
    target = await bus.target_for("clean")
    assert bus.levels(target) == (bids, asks)
    assert not target.cancel_all
    assert target.ts_tick_ns == 123_456_789  # the tick time travels on for tick-to-order

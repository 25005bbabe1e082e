"""Frozen inputs on the real stack: risk's clock cancels resting orders within a second of the
staleness bound of the input that stopped, instead of waiting for an intent that never comes.

A frozen market-data gateway: the book's bound (`stale_after_ms`, 0.5 s). A frozen quoter: the
intent's bound (`intent_stale_after_ms`, 10 s)."""

from __future__ import annotations

import signal
import time

import pytest

from mm_runtime.testing import eventually
from mm_soak.running import RunningStack

pytestmark = pytest.mark.system

CATEGORY = "linear"
STALE_AFTER_S = 0.5  # risk's default stale_after_ms
INTENT_STALE_AFTER_S = 10.0  # risk's default intent_stale_after_ms
# Past a bound: risk's clock tick (0.1 s), the executor's cancel and the venue's ack.
SLACK_S = 1.0


async def open_orders(running: RunningStack) -> int:
    count = 0
    for symbol in running.stack.options.symbols:
        count += len(await running.audit.api.open_orders(CATEGORY, symbol))
    return count


async def frozen_for(running: RunningStack, service: str) -> float:
    """Seconds from freezing `service` (SIGSTOP) until no order rests at the venue."""

    async def resting() -> bool:
        return await open_orders(running) > 0

    async def none_left() -> bool:
        return await open_orders(running) == 0

    await eventually(resting, timeout=30, interval=0.2, message="orders rest at the venue")
    frozen_at = time.monotonic()
    running.stack.kill(service, signal.SIGSTOP)
    try:
        await eventually(none_left, timeout=30, interval=0.05, message="orders cancelled")
        return time.monotonic() - frozen_at
    finally:
        running.stack.kill(service, signal.SIGCONT)


async def test_orders_leave_the_venue_within_a_second_of_the_stale_bound_when_the_gateway_freezes(
    trading_stack: RunningStack,
) -> None:
    elapsed = await frozen_for(trading_stack, "md_gateway")
    assert elapsed <= STALE_AFTER_S + SLACK_S, f"orders rested {elapsed:.2f} s on a frozen market"


async def test_orders_leave_the_venue_after_the_intent_bound_when_the_quoter_freezes(
    trading_stack: RunningStack,
) -> None:
    elapsed = await frozen_for(trading_stack, "quoter")
    bound = INTENT_STALE_AFTER_S + SLACK_S
    assert elapsed <= bound, f"orders rested {elapsed:.2f} s after the quoter froze"

"""Intents that a newer one for the same symbol replaced while risk was busy are never checked."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mm_proto import subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book
ETH_MID = 300_000  # ETHUSDT 3000.00 in ticks of 0.01


async def test_only_the_newest_waiting_intent_per_symbol_becomes_a_target(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    service = risk.service
    assert service is not None
    await bus.book_seen()
    await bus.book_seen("ETHUSDT", ETH_MID)
    gate, held = asyncio.Event(), asyncio.Event()
    send = service.send

    async def send_when_released(*args: Any, **kwargs: Any) -> None:
        held.set()
        await gate.wait()  # risk is busy: the next intents queue behind this one
        await send(*args, **kwargs)

    service.send = send_when_released  # type: ignore[method-assign]
    # One ladder throughout, so no throttle holds any of these back: each would be a target.
    bids, asks = [(MID - 20, 1)], [(MID + 20, 1)]
    await bus.intent(bids, asks, intent_id="first")
    await asyncio.wait_for(held.wait(), timeout=5)
    for number in (1, 2, 3):
        await bus.intent(bids, asks, intent_id=f"replaced-{number}")
    await bus.intent([(ETH_MID - 20, 1)], [(ETH_MID + 20, 1)], "ETHUSDT", "eth-newest")
    await bus.intent(bids, asks, intent_id="newest")
    pattern = subjects.quote_intent_pattern("bybit", "linear")
    intents = [s for s in service.runtime.bus._subscriptions if s.subject == pattern]
    await eventually(lambda: intents[0].pending_msgs == 5, timeout=5)
    gate.set()

    assert bus.levels(await bus.target_for("newest")) == (bids, asks)
    await bus.target_for("eth-newest", "ETHUSDT")
    assert [target.intent_id for target in bus.targets] == ["first", "eth-newest", "newest"]
    conflated = service.runtime.registry.get_sample_value(
        "mm_bus_messages_conflated_total", {"subscription": pattern}
    )
    assert conflated == 3

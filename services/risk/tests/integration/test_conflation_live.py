"""With `conflate_backlog`, intents a newer one for their symbol replaced while risk was busy are
never checked; without it (the default) every intent is."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mm_proto import subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book
ETH_MID = 300_000  # ETHUSDT 3000.00 in ticks of 0.01
PATTERN = subjects.quote_intent_pattern("bybit", "linear")


async def hold_intents_and_queue_more(bus: Bus, risk: RiskProcess) -> None:
    """Risk busy with a first BTCUSDT intent while five more (one ETHUSDT) wait, then released."""
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
    intents = [s for s in service.runtime.bus._subscriptions if s.subject == PATTERN]
    await eventually(lambda: intents[0].pending_msgs == 5, timeout=5)
    gate.set()
    assert bus.levels(await bus.target_for("newest")) == (bids, asks)


def conflated(risk: RiskProcess) -> float | None:
    assert risk.service is not None
    return risk.service.runtime.registry.get_sample_value(
        "mm_bus_messages_conflated_total", {"subscription": PATTERN}
    )


async def test_with_conflation_only_the_newest_waiting_intent_per_symbol_becomes_a_target(
    bus: Bus, risk: RiskProcess
) -> None:
    risk.settings = risk.settings.model_copy(update={"conflate_backlog": True})
    await risk.start()
    await hold_intents_and_queue_more(bus, risk)
    assert [target.intent_id for target in bus.targets] == ["first", "eth-newest", "newest"]
    assert conflated(risk) == 3


async def test_by_default_every_waiting_intent_becomes_a_target_in_order(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await hold_intents_and_queue_more(bus, risk)
    assert [target.intent_id for target in bus.targets] == [
        "first", "replaced-1", "replaced-2", "replaced-3", "eth-newest", "newest"
    ]  # fmt: skip
    assert conflated(risk) is None

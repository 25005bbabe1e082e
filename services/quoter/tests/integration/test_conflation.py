"""With `conflate_backlog`, book tops a newer one replaced while the quoter was busy are never
priced; without it (the default) every top is."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mm_proto import BookTop, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the rig's instrument settings
BID, ASK = 999_990, 1_000_010


async def priced_after_a_backlog(rig: QuoterRig) -> tuple[list[int], list[int], float | None]:
    """The update ids priced when a first top holds the quoter and four more wait behind it, the
    ids of the three in between, and the conflated count."""
    service = rig.services[0]
    runtime = service._runtime
    assert runtime is not None
    publisher = service.publisher
    compute_tick = publisher.compute_tick
    gate, priced = asyncio.Event(), []

    async def compute_when_released(book: BookTop, *args: Any) -> None:
        priced.append(book.update_id)
        await gate.wait()  # the quoter is busy: the next tops queue behind this one
        await compute_tick(book, *args)

    publisher.compute_tick = compute_when_released  # type: ignore[method-assign]
    first = await rig.book(BID, ASK)
    await eventually(lambda: priced == [first], timeout=5)
    replaced = [await rig.book(BID - step, ASK - step) for step in (1, 2, 3)]
    newest = await rig.book(BID + 40, ASK + 40)
    subject = subjects.book(VENUE, CATEGORY, SYMBOL)
    tops = [s for s in runtime.bus._subscriptions if s.subject == subject]
    await eventually(lambda: tops[0].pending_msgs == 4, timeout=5)
    gate.set()
    intent = await rig.intent_for(newest)
    assert intent.bids
    assert intent.asks
    conflated = runtime.registry.get_sample_value(
        "mm_bus_messages_conflated_total", {"subscription": subject}
    )
    return priced, replaced, conflated


async def test_with_conflation_only_the_newest_waiting_top_is_priced_and_the_rest_counted(
    rig: QuoterRig,
) -> None:
    await rig.start(conflate_backlog=True)
    priced, replaced, conflated = await priced_after_a_backlog(rig)
    assert priced == [priced[0], rig.update_id]
    assert not [i for i in rig.intents if i.source_update_id in replaced]
    assert conflated == 3


async def test_by_default_every_waiting_top_is_priced_in_order(rig: QuoterRig) -> None:
    await rig.start()
    priced, replaced, conflated = await priced_after_a_backlog(rig)
    assert priced == [priced[0], *replaced, rig.update_id]
    assert conflated is None

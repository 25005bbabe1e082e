"""One market update is one quote computation, however many messages the gateway sends for it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mm_proto import BookDepth, encode, subjects
from mm_runtime.barrier import round_trip
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"  # as the rig's instrument settings
BID, ASK = 999_990, 1_000_010
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def depth_of(update_id: int, bid: int, ask: int) -> BookDepth:
    """The depth the gateway publishes beside a top: the same update, the same touch."""
    now = time.time_ns()
    return BookDepth(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        bid_prices_ticks=[bid, bid - 1],
        bid_sizes_lots=[5, 7],
        ask_prices_ticks=[ask, ask + 1],
        ask_sizes_lots=[5, 7],
        update_id=update_id,
        ts_exchange_ns=now,
        ts_gateway_ns=now,
    )


def computations(rig: QuoterRig, update_id: int) -> int:
    memory = rig.services[0].runtime.telemetry.memory
    assert memory is not None
    return sum(
        1
        for span in memory.get_finished_spans()
        if span.name == "quote.compute"
        and (span.attributes or {}).get("source_update_id") == update_id
    )


async def test_a_book_top_and_its_depth_with_one_update_id_are_computed_once(
    rig: QuoterRig,
) -> None:
    await rig.start(telemetry={"exporter": "memory"})
    headers = {"traceparent": TRACEPARENT}
    update_id = await rig.book(BID, ASK, headers=headers)
    depth = depth_of(update_id, BID, ASK)
    await rig.client.publish(
        subjects.depth(VENUE, CATEGORY, SYMBOL), encode(depth), headers=headers
    )
    await round_trip(rig.client)
    # A later update, sent after the depth on the same connection, marks that both were handled.
    later = await rig.book(BID - 2, ASK + 2, headers=headers)
    await eventually(lambda: computations(rig, later) == 1, timeout=5)
    assert computations(rig, update_id) == 1
    assert (await rig.intent_for(update_id)).bids


async def test_a_depth_alone_does_not_move_the_quotes(rig: QuoterRig) -> None:
    await rig.start(telemetry={"exporter": "memory"})
    headers = {"traceparent": TRACEPARENT}  # traced updates: each computation is a span
    update_id = await rig.book(BID, ASK, headers=headers)
    await rig.intent_for(update_id)
    seen = len(rig.intents)
    depth_only = update_id + 1_000  # an update no top was published for
    wider = depth_of(depth_only, BID - 50, ASK + 50)
    await rig.client.publish(
        subjects.depth(VENUE, CATEGORY, SYMBOL), encode(wider), headers=headers
    )
    later = await rig.book(BID, ASK, headers=headers)
    await eventually(lambda: computations(rig, later) == 1, timeout=5)
    assert computations(rig, depth_only) == 0
    assert all(intent.source_update_id != depth_only for intent in rig.intents[seen:])


async def test_a_book_update_without_a_trace_makes_no_span_and_its_intent_no_trace_headers(
    rig: QuoterRig,
) -> None:
    await rig.start(telemetry={"exporter": "memory"})
    untraced = await rig.book(BID, ASK)  # the gateway traces one update in its interval
    intent = await rig.intent_for(untraced)
    traced = await rig.book(BID - 2, ASK + 2, headers={"traceparent": TRACEPARENT})
    await eventually(lambda: computations(rig, traced) == 1, timeout=5)
    assert intent.bids
    assert intent.ts_tick_ns > 0
    assert computations(rig, untraced) == 0
    assert "traceparent" not in rig.headers[rig.intents.index(intent)]

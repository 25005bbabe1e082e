"""A conflating subscription on a real server: superseded state counted and skipped, facts kept."""

from __future__ import annotations

import asyncio

from opentelemetry.context import Context
from prometheus_client import CollectorRegistry

from mm_proto import BookTop, Heartbeat, subjects
from mm_runtime import NatsSettings, connect
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.testing import NatsServer, eventually

VENUE, CATEGORY = "bybit", "linear"


def top(symbol: str, update_id: int) -> BookTop:
    return BookTop(
        venue=VENUE,
        category=CATEGORY,
        symbol=symbol,
        bid_price_ticks=100 + update_id,
        bid_size_lots=1,
        ask_price_ticks=102 + update_id,
        ask_size_lots=1,
        update_id=update_id,
        ts_exchange_ns=update_id,
        ts_gateway_ns=update_id,
    )


async def test_a_backlog_of_tops_is_handled_newest_per_symbol_while_every_fact_is_handled(
    nats_server: NatsServer,
) -> None:
    registry = CollectorRegistry()
    bus = await connect(NatsSettings(url=nats_server.url), "conflation", RuntimeMetrics(registry))
    gate = asyncio.Event()
    tops: list[tuple[str, int]] = []
    beats: list[int] = []

    async def on_book(book: BookTop, _context: Context, _msg: object) -> None:
        tops.append((book.symbol, book.update_id))
        await gate.wait()  # the first top holds the subscription so the rest queue up

    async def on_beat(beat: Heartbeat, _context: Context, _msg: object) -> None:
        beats.append(beat.ts_sent_ns)
        await gate.wait()

    pattern, facts = subjects.book_pattern(VENUE, CATEGORY), subjects.heartbeat("conflation")
    book_subscription = await bus.subscribe(pattern, BookTop, on_book, conflate=True)
    fact_subscription = await bus.subscribe(facts, Heartbeat, on_beat)
    await bus.publish(subjects.book(VENUE, CATEGORY, "BTCUSDT"), top("BTCUSDT", 1))
    await bus.publish(facts, Heartbeat(service="conflation", instance_id="0", ts_sent_ns=1))
    await eventually(lambda: len(tops) == 1 and len(beats) == 1, timeout=5)

    backlog = [("BTCUSDT", 2), ("ETHUSDT", 1), ("BTCUSDT", 3), ("ETHUSDT", 2), ("BTCUSDT", 4)]
    for symbol, update_id in backlog:
        await bus.publish(subjects.book(VENUE, CATEGORY, symbol), top(symbol, update_id))
    for sequence in range(2, 6):
        await bus.publish(
            facts, Heartbeat(service="conflation", instance_id="0", ts_sent_ns=sequence)
        )
    await eventually(
        lambda: book_subscription.pending_msgs == 5 and fact_subscription.pending_msgs == 4,
        timeout=5,
    )
    gate.set()
    await eventually(lambda: len(beats) == 5 and ("BTCUSDT", 4) in tops, timeout=5)
    await bus.client.flush()

    assert tops == [("BTCUSDT", 1), ("ETHUSDT", 2), ("BTCUSDT", 4)]
    assert beats == [1, 2, 3, 4, 5]

    def sample(name: str, subscription: str) -> float | None:
        return registry.get_sample_value(name, {"subscription": subscription})

    assert sample("mm_bus_messages_conflated_total", pattern) == 3
    assert sample("mm_bus_messages_received_total", pattern) == 3
    assert sample("mm_bus_messages_conflated_total", facts) is None
    assert sample("mm_bus_messages_received_total", facts) == 5
    await bus.drain()


async def test_draining_the_connection_hands_over_what_a_backlog_held(
    nats_server: NatsServer,
) -> None:
    bus = await connect(
        NatsSettings(url=nats_server.url), "conflation", RuntimeMetrics(CollectorRegistry())
    )
    gate = asyncio.Event()
    tops: list[tuple[str, int]] = []

    async def on_book(book: BookTop, _context: Context, _msg: object) -> None:
        tops.append((book.symbol, book.update_id))
        await gate.wait()

    pattern = subjects.book_pattern(VENUE, CATEGORY)
    subscription = await bus.subscribe(pattern, BookTop, on_book, conflate=True)
    subject = subjects.book(VENUE, CATEGORY, "BTCUSDT")
    await bus.publish(subject, top("BTCUSDT", 1))
    await eventually(lambda: len(tops) == 1, timeout=5)
    for update_id in range(2, 5):
        await bus.publish(subject, top("BTCUSDT", update_id))
    await eventually(lambda: subscription.pending_msgs == 3, timeout=5)
    draining = asyncio.create_task(bus.drain())
    gate.set()
    await asyncio.wait_for(draining, timeout=5)
    assert tops == [("BTCUSDT", 1), ("BTCUSDT", 4)]

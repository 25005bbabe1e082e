"""A durable pull consumer's fetch survives strays on its inbox and JetStream going off and back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from nats.js import api
from prometheus_client import CollectorRegistry

from mm_runtime import NatsSettings, connect
from mm_runtime.bus import Bus
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.pull_consumer import PullConsumer
from mm_runtime.testing import NatsServer, eventually

CONFIG = api.ConsumerConfig(
    durable_name="reader",
    ack_policy=api.AckPolicy.EXPLICIT,
    deliver_policy=api.DeliverPolicy.ALL,
)


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    bus = await connect(
        NatsSettings(url=nats_server.url), "pull", RuntimeMetrics(CollectorRegistry())
    )
    await bus.client.jetstream().add_stream(name="FACTS", subjects=["facts.*"])
    yield bus
    await bus.client.close()


def sample(bus: Bus, name: str, labels: dict[str, str]) -> float | None:
    return bus._metrics.registry.get_sample_value(name, labels)


async def drain(consumer: PullConsumer) -> list[bytes]:
    got: list[bytes] = []
    for msg in await consumer.fetch(16, 0.2):
        got.append(msg.data)
        await msg.ack()
    return got


async def test_a_stray_message_on_the_inbox_is_counted_and_dropped_and_facts_keep_coming(
    bus: Bus,
) -> None:
    strays: list[bool] = []
    consumer = bus.pull_consumer("FACTS", "facts.*", CONFIG, on_stray=lambda: strays.append(True))
    await consumer.bind()
    js = bus.client.jetstream()
    await js.publish("facts.a", b"one")
    seen: list[bytes] = []

    async def stray_dropped_and_fact_seen() -> bool:
        await bus.client.publish(consumer.inbox, b"not from the stream")
        seen.extend(await drain(consumer))
        return bool(strays) and seen == [b"one"]

    await eventually(stray_dropped_and_fact_seen, timeout=5)
    labels = {"subscription": "FACTS-reader", "reason": "not_jetstream"}
    assert (sample(bus, "mm_bus_messages_dropped_total", labels) or 0) >= 1

    async def caught_up() -> bool:  # acks are published without waiting: the server counts them
        return await consumer.pending(1.0) == 0

    await eventually(caught_up, timeout=5)
    assert sample(bus, "mm_bus_follow_pending", {"follower": "FACTS-reader"}) == 0
    await consumer.close()


async def test_fetches_fail_counted_while_jetstream_is_off_and_read_again_when_it_is_back(
    bus: Bus, nats_server: NatsServer
) -> None:
    failures: list[str] = []
    consumer = bus.pull_consumer(
        "FACTS", "facts.*", CONFIG, on_failure=lambda reason, _error: failures.append(reason)
    )
    await consumer.bind()
    js = bus.client.jetstream()
    await js.publish("facts.a", b"before")
    assert await drain(consumer) == [b"before"]
    nats_server.restart(jetstream=False)

    async def refused() -> bool:
        assert await consumer.fetch(16, 0.2) == []  # never raises
        return bool(failures)

    await eventually(refused, timeout=15, interval=0.1)
    assert await consumer.pending(0.5) is None  # the server cannot say: lag unknown
    assert "lag_unknown" in failures
    nats_server.restart(jetstream=True)
    seen: list[bytes] = []

    async def read_again() -> bool:
        if not seen:
            try:
                await js.publish("facts.a", b"after", timeout=0.5)
            except Exception:  # JetStream still starting: try again
                return False
        seen.extend(await drain(consumer))
        return b"after" in seen

    await eventually(read_again, timeout=20, interval=0.2)
    await consumer.close()


def resuming(bus: Bus, failures: list[str], resume_at: Callable[[], int]) -> PullConsumer:
    """A consumer that reads in order from `resume_at()`, noting each failure's reason."""
    return bus.pull_consumer(
        "FACTS",
        "facts.*",
        CONFIG,
        on_failure=lambda reason, _error: failures.append(reason),
        resume_at=resume_at,
    )


async def test_with_resume_at_a_skipped_sequence_rebinds_there_and_delivery_stays_in_order(
    bus: Bus,
) -> None:
    """A fetch reply lost in one life (here: taken by another reader of the durable, never
    acked) leaves a hole the server would fill only after ack_wait; the consumer re-binds at the
    first sequence the caller has not applied instead."""
    applied: list[int] = []
    failures: list[str] = []
    consumer = resuming(bus, failures, lambda: (applied[-1] if applied else 0) + 1)
    await consumer.bind()
    js = bus.client.jetstream()
    for number in range(5):
        await js.publish("facts.a", f"{number + 1}".encode())

    async def take(count: int) -> None:
        for msg in await consumer.fetch(count, 0.5):
            applied.append(msg.metadata.sequence.stream)
            await msg.ack()

    await take(2)
    assert applied == [1, 2]
    thief = await js.pull_subscribe_bind(durable="reader", stream="FACTS")
    stolen = await thief.fetch(2, timeout=2)
    assert [msg.metadata.sequence.stream for msg in stolen] == [3, 4]
    await take(16)  # 5 arrives past the hole: nothing is handed over, the consumer unbinds
    assert applied == [1, 2]
    assert failures == ["gap"]
    assert consumer.failing  # the empty batch says nothing of the backlog (no "caught up")
    await take(16)
    assert applied == [1, 2, 3, 4, 5]
    assert not consumer.failing
    assert (
        sample(bus, "mm_bus_follow_failures_total", {"follower": "FACTS-reader", "reason": "gap"})
        == 1
    )
    await thief.unsubscribe()
    await consumer.close()


async def test_with_resume_at_messages_no_longer_in_the_stream_are_counted_and_reading_goes_on(
    bus: Bus,
) -> None:
    js = bus.client.jetstream()
    for number in range(4):
        await js.publish("facts.a", f"{number + 1}".encode())
    await js.delete_msg("FACTS", 2)
    await js.delete_msg("FACTS", 3)
    failures: list[str] = []
    consumer = resuming(bus, failures, lambda: 2)  # the caller has applied 1
    await consumer.bind()
    got = [msg.metadata.sequence.stream for msg in await consumer.fetch(16, 0.5)]
    assert got == [4]
    assert failures == ["not_in_stream"]
    await consumer.close()

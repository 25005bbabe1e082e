"""Followers bind once their bucket or stream exists, deliver typed messages and drop bad ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import nats.errors
import pytest
from nats.aio.msg import Msg
from nats.js import api
from prometheus_client import CollectorRegistry

from mm_proto import Heartbeat, encode
from mm_runtime import NatsSettings, connect
from mm_runtime.bus import Bus
from mm_runtime.followers import KvFollower, StreamFollower
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing import NatsServer, eventually


def beat(service: str) -> Heartbeat:
    return Heartbeat(service=service, instance_id="0", ts_sent_ns=time.time_ns())


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    registry = CollectorRegistry()
    bus = await connect(NatsSettings(url=nats_server.url), "followers", RuntimeMetrics(registry))
    tasks = TaskSupervisor(registry)
    bus.supervise_with(tasks, "test")
    yield bus
    await tasks.stop()
    await bus.client.close()


def sample(bus: Bus, name: str, labels: dict[str, str]) -> float | None:
    registry = bus._metrics.registry
    return registry.get_sample_value(name, labels)


async def follow_heartbeats(
    bus: Bus, stream: str, subject: str, policy: api.DeliverPolicy
) -> tuple[StreamFollower[Heartbeat], list[Heartbeat]]:
    received: list[Heartbeat] = []

    async def on_message(message: Heartbeat, _msg: Msg) -> None:
        received.append(message)

    await bus.client.jetstream().add_stream(name=stream, subjects=[subject])
    follower = bus.follow_stream(
        stream, subject, Heartbeat, on_message, deliver_policy=policy, retry_s=0.05
    )
    await eventually(follower.bound.is_set, timeout=5)
    return follower, received


async def jetstream_off_and_back(bus: Bus, server: NatsServer) -> None:
    server.restart(jetstream=False)
    await eventually(lambda: bus.client.is_connected, timeout=10)
    server.restart(jetstream=True)
    await eventually(lambda: bus.client.is_connected, timeout=10)


async def send_until_seen(send: Callable[[], Awaitable[object]], seen: Callable[[], bool]) -> None:
    sent: list[bool] = []

    async def delivered() -> bool:
        if not sent:
            try:
                await send()
                sent.append(True)
            except nats.errors.Error:  # JetStream still starting
                return False
        return seen()

    await eventually(delivered, timeout=15, interval=0.5)


async def test_a_kv_follower_waits_for_its_bucket_then_replays_and_follows(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    seen: list[tuple[str, bytes | None]] = []

    async def on_entry(key: str, value: bytes | None) -> None:
        seen.append((key, value))

    metrics = RuntimeMetrics(CollectorRegistry())
    follower = KvFollower(js, "later", "quoter.>", bytes, on_entry, metrics, retry_s=0.05)
    task = asyncio.create_task(follower.run())
    await eventually(follower.loaded.is_set, timeout=5)  # nothing to load: run on settings
    kv = await js.create_key_value(bucket="later")
    await kv.put("quoter.default", b"{}")
    await kv.put("other.default", b"{}")
    await eventually(lambda: seen == [("quoter.default", b"{}")], timeout=5)
    await kv.delete("quoter.default")
    await eventually(lambda: seen[-1] == ("quoter.default", None), timeout=5)
    await follower.stop()
    await task
    await client.drain()


async def test_a_stream_follower_binds_once_the_stream_exists_and_replays_the_last_value(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    received: list[bytes] = []

    async def on_message(data: bytes, _msg: Msg) -> None:
        received.append(data)

    metrics = RuntimeMetrics(CollectorRegistry())
    follower = StreamFollower(
        js, "LATER", "later.*", api.DeliverPolicy.LAST_PER_SUBJECT, bytes, on_message, metrics, 0.05
    )
    task = asyncio.create_task(follower.run())
    await asyncio.sleep(0)
    assert not follower.bound.is_set()
    await js.add_stream(name="LATER", subjects=["later.*"])
    await js.publish("later.a", b"old")
    await js.publish("later.a", b"new")
    await js.publish("later.b", b"only")
    await eventually(follower.bound.is_set, timeout=5)
    await task
    await eventually(lambda: {b"new", b"only"} <= set(received), timeout=5)
    # Binding may fall between the two publishes; either way "new" is the last value seen.
    assert [data for data in received if data in (b"old", b"new")][-1] == b"new"
    await follower.stop()
    await client.drain()


async def test_kv_values_arrive_typed_and_garbage_is_counted_dropped_and_handed_to_the_hook(
    bus: Bus,
) -> None:
    js = bus.client.jetstream()
    kv = await js.create_key_value(bucket="typed")
    await kv.put("svc.a", b"\xc1 not msgpack")  # stored before the follower starts: replayed
    seen: list[tuple[str, Heartbeat | None]] = []
    drops: list[tuple[str, str]] = []

    async def on_entry(key: str, value: Heartbeat | None) -> None:
        seen.append((key, value))

    async def on_drop(key: str, reason: str) -> None:
        drops.append((key, reason))

    follower = bus.follow_kv("typed", "svc.>", Heartbeat, on_entry, retry_s=0.05, on_drop=on_drop)
    await eventually(follower.loaded.is_set, timeout=5)
    good = beat("a")
    await kv.put("svc.a", encode(good))
    await eventually(lambda: seen == [("svc.a", good)], timeout=5)
    assert drops == [("svc.a", "undecodable")]
    labels = {"subscription": "typed-svc.>", "reason": "undecodable"}
    assert sample(bus, "mm_bus_messages_dropped_total", labels) == 1
    assert sample(bus, "mm_bus_follow_pending", {"follower": "typed-svc.>"}) == 0


async def test_kv_delete_and_purge_reach_the_handler_as_none(bus: Bus) -> None:
    js = bus.client.jetstream()
    kv = await js.create_key_value(bucket="gone")
    seen: list[tuple[str, Heartbeat | None]] = []

    async def on_entry(key: str, value: Heartbeat | None) -> None:
        seen.append((key, value))

    follower = bus.follow_kv("gone", "svc.>", Heartbeat, on_entry, retry_s=0.05)
    await eventually(follower.loaded.is_set, timeout=5)  # watching: each change comes in turn
    first, second = beat("a"), beat("b")
    await kv.put("svc.a", encode(first))
    await kv.put("svc.b", encode(second))
    await kv.delete("svc.a")
    await kv.purge("svc.b")

    def changes(key: str) -> list[Heartbeat | None]:
        """The values `key` went through; a repeat of the value in force (a follower that
        re-binds replays the latest state, e.g. under load) is not a change."""
        values: list[Heartbeat | None] = []
        for seen_key, value in seen:
            if seen_key == key and (not values or values[-1] != value):
                values.append(value)
        return values

    await eventually(
        lambda: changes("svc.a") == [first, None] and changes("svc.b") == [second, None],
        timeout=10,
        message="each value, then None, in order",
    )
    labels = {"subscription": "gone-svc.>", "reason": "undecodable"}
    assert sample(bus, "mm_bus_messages_dropped_total", labels) is None


async def test_stream_messages_arrive_typed_and_garbage_is_counted_and_dropped(bus: Bus) -> None:
    _, received = await follow_heartbeats(bus, "TYPED", "typed.*", api.DeliverPolicy.ALL)
    js = bus.client.jetstream()
    await js.publish("typed.a", b"\xc1 not msgpack")
    good = beat("a")
    await js.publish("typed.a", encode(good))
    await eventually(lambda: received == [good], timeout=5)
    labels = {"subscription": "TYPED-typed.*", "reason": "undecodable"}
    assert sample(bus, "mm_bus_messages_dropped_total", labels) == 1
    assert sample(bus, "mm_bus_follow_pending", {"follower": "TYPED-typed.*"}) == 0


async def test_a_stray_message_on_the_consumers_inbox_is_counted_and_dropped(bus: Bus) -> None:
    follower, received = await follow_heartbeats(bus, "STRAY", "stray.*", api.DeliverPolicy.NEW)
    assert follower._subscription is not None
    await bus.client.publish(follower._subscription.subject, encode(beat("forged")))
    labels = {"subscription": "STRAY-stray.*", "reason": "not_jetstream"}
    await eventually(lambda: sample(bus, "mm_bus_messages_dropped_total", labels) == 1, timeout=5)
    good = beat("real")
    await bus.client.jetstream().publish("stray.a", encode(good))
    await eventually(lambda: received == [good], timeout=5)


async def test_a_kv_follower_delivers_again_after_jetstream_is_off_and_back(
    bus: Bus, nats_server: NatsServer
) -> None:
    kv = await bus.client.jetstream().create_key_value(bucket="steady")
    seen: list[Heartbeat | None] = []

    async def on_entry(_key: str, value: Heartbeat | None) -> None:
        seen.append(value)

    follower = bus.follow_kv("steady", "svc.>", Heartbeat, on_entry, retry_s=0.05)
    await eventually(follower.loaded.is_set, timeout=5)
    await jetstream_off_and_back(bus, nats_server)
    after = beat("after")
    await send_until_seen(lambda: kv.put("svc.a", encode(after)), lambda: after in seen)


async def test_a_stream_follower_delivers_again_after_jetstream_is_off_and_back(
    bus: Bus, nats_server: NatsServer
) -> None:
    _, received = await follow_heartbeats(bus, "STEADY", "steady.*", api.DeliverPolicy.NEW)
    await jetstream_off_and_back(bus, nats_server)
    after = beat("after")
    js = bus.client.jetstream()
    await send_until_seen(lambda: js.publish("steady.a", encode(after)), lambda: after in received)

"""Followers keep retrying until their bucket or stream exists, then deliver what it holds."""

from __future__ import annotations

import asyncio

import nats
from nats.js import api

from mm_runtime.testing import NatsServer, eventually
from quoter.followers import KeyValueFollower, StreamFollower


async def test_a_kv_follower_waits_for_its_bucket_then_replays_and_follows(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    seen: list[tuple[str, bytes | None]] = []

    async def on_entry(key: str, value: bytes | None) -> None:
        seen.append((key, value))

    follower = KeyValueFollower(js, "later", "quoter.>", on_entry, retry_s=0.05)
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

    async def on_message(msg: nats.aio.msg.Msg) -> None:
        received.append(msg.data)

    follower = StreamFollower(
        js, "LATER", "later.*", api.DeliverPolicy.LAST_PER_SUBJECT, on_message, retry_s=0.05
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

"""The NATS fixture is a real server with JetStream, and a restart keeps JetStream state."""

from __future__ import annotations

import nats

from mm_runtime.testing import NatsServer, eventually


async def test_the_fixture_serves_core_nats_and_jetstream(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    received: list[bytes] = []

    async def on_message(msg: nats.aio.msg.Msg) -> None:
        received.append(msg.data)

    await client.subscribe("fixture.check", cb=on_message)
    await client.publish("fixture.check", b"hello")
    await eventually(lambda: received == [b"hello"], timeout=2)
    stream = await client.jetstream().add_stream(name="FIXTURE", subjects=["fixture.js"])
    assert stream.config.name == "FIXTURE"
    await client.drain()


async def test_jetstream_messages_survive_a_server_restart(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    jetstream = client.jetstream()
    await jetstream.add_stream(name="KEEP", subjects=["keep.>"])
    await jetstream.publish("keep.one", b"fact")
    await client.close()
    nats_server.restart()
    client = await nats.connect(nats_server.url)
    info = await client.jetstream().stream_info("KEEP")
    assert info.state.messages == 1
    await client.close()

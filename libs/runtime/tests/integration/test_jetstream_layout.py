"""The durable layout is created once and shared; facts are de-duplicated by message id."""

from __future__ import annotations

import asyncio

import nats
import pytest

from mm_proto import Heartbeat, subjects
from mm_runtime.jetstream import LayoutUnavailableError, ensure_layout, key_value, publish_fact
from mm_runtime.testing import NatsServer


async def test_layout_is_idempotent_and_duplicate_facts_are_stored_once(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    jetstream = client.jetstream()
    await ensure_layout(jetstream)
    await ensure_layout(jetstream)
    beat = Heartbeat(service="executor", instance_id="0", ts_sent_ns=1)
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    assert await publish_fact(jetstream, subject, beat, message_id="exec-1") is True
    assert await publish_fact(jetstream, subject, beat, message_id="exec-1") is False
    assert await publish_fact(jetstream, subject, beat, message_id="exec-2") is True
    info = await jetstream.stream_info(subjects.EXEC_STREAM)
    assert info.state.messages == 2
    bucket = await key_value(jetstream, subjects.RISK_BUCKET)
    await bucket.put(subjects.HALT_KEY, b"x")
    assert (await bucket.get(subjects.HALT_KEY)).value == b"x"
    await client.close()


async def test_a_start_waits_for_jetstream_to_answer_then_makes_the_layout(
    nats_server: NatsServer,
) -> None:
    nats_server.restart(jetstream=False)  # the bus is up, JetStream not yet (a cluster electing)
    client = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    layout = asyncio.create_task(ensure_layout(client.jetstream(), wait_s=30))
    await asyncio.sleep(1.5)
    assert not layout.done()  # still waiting, not failed
    nats_server.restart(jetstream=True)
    await asyncio.wait_for(layout, 30)
    assert (await client.jetstream().stream_info(subjects.EXEC_STREAM)).config.name
    await client.close()


async def test_a_jetstream_that_never_answers_is_a_clear_error_after_the_wait(
    nats_server: NatsServer,
) -> None:
    nats_server.restart(jetstream=False)
    client = await nats.connect(nats_server.url)
    with pytest.raises(LayoutUnavailableError, match="did not answer within 1 s"):
        await ensure_layout(client.jetstream(), wait_s=1)
    await client.close()

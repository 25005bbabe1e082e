"""The durable layout is created once and shared; facts are de-duplicated by message id."""

from __future__ import annotations

import nats

from mm_proto import Heartbeat, subjects
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact
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

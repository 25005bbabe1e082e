"""Undecodable payloads and unknown versions are counted and dropped; the subscriber lives on."""

from __future__ import annotations

import time

import msgspec
from opentelemetry.context import Context
from prometheus_client import CollectorRegistry

from mm_proto import Heartbeat, codec, subjects
from mm_runtime import NatsSettings, connect
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.testing import NatsServer, eventually


async def test_bad_payloads_are_counted_and_dropped_without_killing_the_subscriber(
    nats_server: NatsServer,
) -> None:
    registry = CollectorRegistry()
    bus = await connect(NatsSettings(url=nats_server.url), "drops", RuntimeMetrics(registry))
    received: list[Heartbeat] = []

    async def on_heartbeat(message: Heartbeat, _context: Context, _msg: object) -> None:
        received.append(message)

    subject = subjects.heartbeat("drops")
    await bus.subscribe(subject, Heartbeat, on_heartbeat)
    future = msgspec.structs.replace(
        Heartbeat(service="future", instance_id="0", ts_sent_ns=1), version=99
    )
    await bus.client.publish(subject, b"\xc1 not msgpack")
    await bus.client.publish(subject, codec.encode(future))
    await bus.client.publish(subject, msgspec.msgpack.encode({"type": "heartbeat"}))
    good = Heartbeat(service="good", instance_id="0", ts_sent_ns=time.time_ns())
    await bus.publish(subject, good)
    await eventually(lambda: received == [good], timeout=5)

    def dropped(reason: str) -> float | None:
        return registry.get_sample_value(
            "mm_bus_messages_dropped_total", {"subscription": subject, "reason": reason}
        )

    assert dropped("undecodable") == 2
    assert dropped("unsupported_version") == 1
    await bus.drain()

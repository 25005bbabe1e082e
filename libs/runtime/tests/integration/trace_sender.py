"""Publishes one heartbeat inside an `example.send` span, exporting spans to a JSON-lines file.

Run as its own OS process by the trace propagation test: argv is the NATS URL and the span file.
"""

from __future__ import annotations

import asyncio
import sys
import time

from prometheus_client import CollectorRegistry

from mm_proto import Heartbeat, subjects
from mm_runtime import NatsSettings, Telemetry, TelemetrySettings, connect
from mm_runtime.metrics import RuntimeMetrics


async def send(nats_url: str, span_file: str) -> None:
    telemetry = Telemetry("sender", TelemetrySettings(exporter="file", file_path=span_file))
    bus = await connect(NatsSettings(url=nats_url), "sender", RuntimeMetrics(CollectorRegistry()))
    with telemetry.tracer.start_as_current_span("example.send"):
        message = Heartbeat(service="sender", instance_id="0", ts_sent_ns=time.time_ns())
        await bus.publish(subjects.heartbeat("example-in"), message)
    await bus.drain()
    telemetry.shutdown()


if __name__ == "__main__":
    asyncio.run(send(sys.argv[1], sys.argv[2]))

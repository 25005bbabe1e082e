"""Stamps along a service's receive -> publish path, for `bench/where_hops_go.py` (diagnosis only).

Loaded by Python at start when this directory is on PYTHONPATH and `MM_HOP_STAMPS_DIR` is set:
wraps the event loop's wake-up, nats-py's message processing, publish and socket writes, and the
runtime's `Bus` (deliver, trace-context extraction, handler, publish) to record (name, wall ns,
thread CPU ns, detail) and writes them as JSON lines to `<dir>/<pid>.jsonl`, which the report
reads. Each stamp costs a few microseconds, so the totals run a little high.
"""

import atexit
import json
import os
import sys
import time

DIRECTORY = os.environ.get("MM_HOP_STAMPS_DIR", "")
STAMPS: list[tuple[str, int, int, str]] = []


def stamp(name: str, detail: str = "") -> None:
    STAMPS.append((name, time.perf_counter_ns(), time.thread_time_ns(), detail))
    if len(STAMPS) >= 20000:
        dump()


def dump() -> None:
    with open(os.path.join(DIRECTORY, f"{os.getpid()}.jsonl"), "a") as sink:
        sink.write(json.dumps({"argv": sys.argv[:1]}) + "\n")
        sink.writelines(json.dumps(entry) + "\n" for entry in STAMPS)
    STAMPS.clear()


def install() -> None:
    import asyncio.selector_events as selector_events
    import selectors

    import nats.aio.client as nats_client

    import mm_runtime.bus as bus

    select = selectors.EpollSelector.select

    def select_stamped(self, timeout=None):  # type: ignore[no-untyped-def]
        ready = select(self, timeout)
        if ready and timeout != 0:
            stamp("wake")
        return ready

    selectors.EpollSelector.select = select_stamped  # type: ignore[method-assign]
    process_msg = nats_client.Client._process_msg

    async def process_msg_stamped(self, sid, subject, reply, data, headers):  # type: ignore[no-untyped-def]
        stamp("process_msg", bytes(subject[:40]).decode(errors="replace"))
        return await process_msg(self, sid, subject, reply, data, headers)

    nats_client.Client._process_msg = process_msg_stamped  # type: ignore[method-assign]
    publish = nats_client.Client.publish

    async def publish_stamped(self, subject, payload=b"", reply="", headers=None):  # type: ignore[no-untyped-def]
        stamp("nats_publish", subject[:40])
        await publish(self, subject, payload, reply, headers)
        stamp("nats_publish_end")

    nats_client.Client.publish = publish_stamped  # type: ignore[method-assign]
    transport = selector_events._SelectorSocketTransport
    write = transport.write

    def write_stamped(self, data):  # type: ignore[no-untyped-def]
        stamp("write", bytes(data[:12]).decode(errors="replace"))
        write(self, data)
        stamp("write_end")

    transport.write = write_stamped  # type: ignore[method-assign]
    deliver = bus.Bus._deliver

    async def deliver_stamped(self, pattern, message_type, handler, msg):  # type: ignore[no-untyped-def]
        stamp("deliver", msg.subject[:40])

        async def handler_stamped(message, context, raw):  # type: ignore[no-untyped-def]
            stamp("handler")
            await handler(message, context, raw)
            stamp("handler_end")

        await deliver(self, pattern, message_type, handler_stamped, msg)

    bus.Bus._deliver = deliver_stamped  # type: ignore[method-assign]
    bus_publish = bus.Bus.publish

    async def bus_publish_stamped(self, subject, message, headers=None):  # type: ignore[no-untyped-def]
        stamp("bus_publish", subject[:40])
        await bus_publish(self, subject, message, headers)

    bus.Bus.publish = bus_publish_stamped  # type: ignore[method-assign]
    extract = bus.extract_context

    def extract_stamped(headers):  # type: ignore[no-untyped-def]
        stamp("extract")
        context = extract(headers)
        stamp("extract_end")
        return context

    bus.extract_context = extract_stamped
    atexit.register(dump)


if DIRECTORY:
    install()

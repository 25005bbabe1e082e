"""`mm tail` against a real nats-server: `--count` is exact, and a bus that goes away ends it."""

from __future__ import annotations

import asyncio
import io

import msgspec
import nats

from mm_cli.tail_command import tail
from mm_proto import BookTop, encode, subjects
from mm_proto.examples import examples
from mm_runtime.testing import NatsServer, eventually

[EXAMPLE] = [message for message in examples() if isinstance(message, BookTop)]
SUBJECT = subjects.book(EXAMPLE.venue, EXAMPLE.category, EXAMPLE.symbol)


def top(update_id: int) -> bytes:
    return encode(msgspec.structs.replace(EXAMPLE, update_id=update_id))


async def test_count_prints_exactly_that_many_lines_from_a_burst(nats_server: NatsServer) -> None:
    out = io.StringIO()
    tailing = asyncio.create_task(tail(nats_server.url, "md.>", 3, out=out))
    publisher = await nats.connect(nats_server.url)
    try:
        while not tailing.done():  # until the subscription exists and three arrived
            for update_id in range(50):
                await publisher.publish(SUBJECT, top(update_id))
            await publisher.flush()
            await asyncio.wait([tailing], timeout=0.1)
    finally:
        await publisher.drain()
    assert await tailing == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert all(SUBJECT in line and '"update_id"' in line for line in lines)


async def test_a_bus_that_goes_away_ends_tail_with_exit_code_one(nats_server: NatsServer) -> None:
    out = io.StringIO()
    tailing = asyncio.create_task(tail(nats_server.url, "md.>", None, out=out))
    publisher = await nats.connect(nats_server.url)

    async def printing() -> bool:
        await publisher.publish(SUBJECT, top(1))
        return bool(out.getvalue())

    await eventually(printing, timeout=10, interval=0.1, message="tail prints")
    await publisher.close()
    nats_server.stop()
    assert await asyncio.wait_for(tailing, timeout=15) == 1

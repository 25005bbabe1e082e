"""A round trip through the server that proves it has processed everything sent before it.

nats-py's `flush()` writes its PING straight to the socket, ahead of commands still queued in the
client's pending buffer, so a PONG does not prove that earlier SUBs reached the server (seen as
"no responders" right after start). A message published to our own inbox travels the same queue
as the SUBs, so its echo arriving means they were all applied.
"""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.aio.msg import Msg


async def round_trip(client: Client, timeout_s: float = 5.0) -> None:
    """Return once a message sent now has come back, or raise TimeoutError."""
    echoed = asyncio.get_running_loop().create_future()

    async def on_echo(_msg: Msg) -> None:
        if not echoed.done():
            echoed.set_result(None)

    inbox = client.new_inbox()
    subscription = await client.subscribe(inbox, cb=on_echo)
    try:
        await client.publish(inbox, b"")
        await asyncio.wait_for(echoed, timeout_s)
    finally:
        await subscription.unsubscribe()

"""A venue that accepts the socket but never answers pings is dropped at the pong deadline."""

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.ws_public import PublicStream
from mm_runtime.testing.waiting import eventually


async def swallow(connection: ServerConnection) -> None:
    """Read and ignore everything: an open socket on which the venue has gone quiet."""
    async for _ in connection:
        pass


@pytest.fixture
async def silent_server() -> AsyncIterator[Server]:
    async with serve(swallow, "127.0.0.1", 0) as server:
        yield server


async def test_missing_pong_ends_the_connection_and_it_is_retried(silent_server: Server) -> None:
    port = next(iter(silent_server.sockets)).getsockname()[1]
    events: list[ConnectionEvent] = []
    stream = PublicStream(
        f"ws://127.0.0.1:{port}/v5/public/linear", lambda frame: None,
        on_state=events.append, backoff=Backoff(base_s=0.01, rng=lambda: 1.0),
        ping_interval_s=0.05, pong_timeout_s=0.1,
    )  # fmt: skip
    stream.start()
    try:
        await eventually(
            lambda: sum(isinstance(e, Disconnected) for e in events) >= 2, timeout=10.0
        )
    finally:
        await stream.close()
    reasons = [e.reason for e in events if isinstance(e, Disconnected)]
    assert all(reason.startswith("no pong within 0.1s") for reason in reasons)

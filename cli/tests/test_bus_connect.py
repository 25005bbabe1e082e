"""The `mm` command's bus connection gives up with a clear error, and a connect it cut off
mid-handshake closes its socket at once rather than leaving it to the garbage collector (where it
would surface later, in whatever test runs then, as a ResourceWarning)."""

from __future__ import annotations

import asyncio

import pytest

from mm_cli import bus_connect
from mm_cli.bus_connect import BusUnreachableError, connect


async def test_a_server_that_never_answers_the_handshake_is_given_up_and_its_socket_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed_by_client = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Accepts the TCP connection and never sends NATS's INFO; notes when the client hangs up.
        await reader.read()
        closed_by_client.set()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(bus_connect, "CONNECT_TIMEOUT_S", 0.5)
    try:
        with pytest.raises(BusUnreachableError, match=f"no NATS server at nats://127.0.0.1:{port}"):
            await connect(f"nats://127.0.0.1:{port}", "test", {})
        await asyncio.wait_for(closed_by_client.wait(), 2)
    finally:
        server.close()
        await server.wait_closed()

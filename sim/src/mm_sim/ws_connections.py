"""WebSocket plumbing for the three surfaces: send queue, writer task, registry, drop, and the
venue's heartbeat rule: a private or trade connection that sends nothing (Bybit wants an
`op: ping` every 20 s) for `ping_timeout_s` is closed by the venue, which starts DCP's window."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

LOG = logging.getLogger(__name__)
SEND_QUEUE_LIMIT = 10_000
HEARTBEAT_SURFACES = frozenset({"private", "trade"})
_ids = itertools.count(1)


class Connection:
    """One client socket: an id, a bounded outgoing queue drained by a writer task."""

    def __init__(
        self, socket: web.WebSocketResponse, surface: str, request: web.Request, latency_s: float
    ) -> None:
        self.socket = socket
        self.latency_s = latency_s
        self.request = request
        self.surface = surface
        self.number = next(_ids)
        self.conn_id = f"sim-{surface}-{self.number:06d}"
        self.queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self.uid = 0
        self.topics: set[str] = set()
        self.dropped_messages = 0
        self.last_heard = asyncio.get_running_loop().time()

    def send_bytes(self, message: bytes) -> None:
        """Queue a message; a full queue (a stuck reader) closes the connection, never grows."""
        try:
            self.queue.put_nowait((asyncio.get_running_loop().time() + self.latency_s, message))
        except asyncio.QueueFull:
            self.dropped_messages += 1
            LOG.warning("send queue full on %s; closing it", self.conn_id)
            self.close_soon()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(msgspec.json.encode(message))

    def close_soon(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def write_loop(self) -> None:
        """Send queued messages in order, each no earlier than its enqueue time + latency."""
        loop = asyncio.get_running_loop()
        while True:
            item = await self.queue.get()
            if item is None or self.socket.closed:
                await self.socket.close()
                return
            due, message = item
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            try:
                await self.socket.send_str(message.decode())
            except (ConnectionResetError, RuntimeError):
                return


class Registry:
    """Every open connection per surface, so faults can drop them all at once."""

    def __init__(self, latency_ms: int = 0, ping_timeout_s: float = 600.0) -> None:
        self.open: dict[int, Connection] = {}
        self.latency_s = latency_ms / 1000
        self.ping_timeout_s = ping_timeout_s

    async def drop_all(self, surface: str) -> int:
        victims = [c for c in self.open.values() if surface in ("all", c.surface)]
        for connection in victims:
            await _drop(connection, b"sim fault: dropped")
        return len(victims)

    async def close_when_silent(self, connection: Connection) -> None:
        """Close the connection once the client has sent nothing for `ping_timeout_s`."""
        loop = asyncio.get_running_loop()
        while not connection.socket.closed:
            silent_s = loop.time() - connection.last_heard
            if silent_s >= self.ping_timeout_s:
                LOG.warning("no ping on %s for %.1fs; closing it", connection.conn_id, silent_s)
                await _drop(connection, b"no ping")
                return
            await asyncio.sleep(self.ping_timeout_s - silent_s)


async def _drop(connection: Connection, reason: bytes) -> None:
    """Cut the socket without a closing handshake (the client may be unable to answer one)."""
    transport = connection.request.transport
    if transport is not None:
        transport.abort()
    else:
        await connection.socket.close(code=1011, message=reason)


async def serve(
    request: web.Request, registry: Registry, surface: str, on_message: Any, on_close: Any = None
) -> web.WebSocketResponse:
    """Accept a socket, run the writer, feed each JSON object to `on_message(connection, obj)`."""
    socket = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
    await socket.prepare(request)
    connection = Connection(socket, surface, request, registry.latency_s)
    registry.open[connection.number] = connection
    writer = asyncio.create_task(connection.write_loop())
    watcher = None
    if surface in HEARTBEAT_SURFACES:
        watcher = asyncio.create_task(registry.close_when_silent(connection))
    try:
        async for frame in socket:
            connection.last_heard = asyncio.get_running_loop().time()
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                connection.send(
                    {
                        "success": False,
                        "ret_msg": f"expected a JSON object, received {frame.data[:80]!r}",
                        "conn_id": connection.conn_id,
                        "op": "",
                    }
                )
                continue
            try:
                on_message(connection, message)
            except Exception:
                LOG.exception("failed handling a %s message on %s", surface, connection.conn_id)
                connection.send(
                    {
                        "success": False,
                        "ret_msg": "error:internal error",
                        "conn_id": connection.conn_id,
                        "op": str(message.get("op", "")),
                    }
                )
    finally:
        if watcher is not None:
            watcher.cancel()
        registry.open.pop(connection.number, None)
        if on_close is not None:
            on_close(connection)
        connection.close_soon()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(writer, timeout=1.0)
        if not writer.done():
            writer.cancel()
    return socket

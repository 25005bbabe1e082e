"""The NATS monitor, when asked for, listens on loopback only (it is unauthenticated)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from mm_runtime.nats_server import NatsServer, free_port


async def test_the_monitor_port_is_bound_to_loopback(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", monitor_port=free_port())
    server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.monitor_url}/varz") as reply,
        ):
            varz = await reply.json()
    finally:
        server.stop()
    assert varz["http_host"] == "127.0.0.1"
    assert varz["http_port"] == server.monitor_port

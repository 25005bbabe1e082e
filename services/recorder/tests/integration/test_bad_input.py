"""Bad frames from the venue: kept raw and counted, and the frames around them all recorded.

The venue here is a scripted WebSocket server on loopback (the simulator never sends malformed
bytes): it acknowledges the subscription, then sends good and bad frames in a fixed order.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from mm_runtime.nats_server import NatsServer, free_port
from mm_runtime.settings import load_settings
from mm_runtime.testing import eventually
from recorder import Kind, read
from recorder.generate import running_recorder
from recorder.settings import RecorderSettings

from .conftest import metric

SNAPSHOT = {
    "topic": "orderbook.50.BTCUSDT",
    "type": "snapshot",
    "ts": 1,
    "data": {"s": "BTCUSDT", "b": [["100.0", "1"]], "a": [["100.1", "2"]], "u": 1, "seq": 1},
}
DELTA = {**SNAPSHOT, "type": "delta", "data": {**SNAPSHOT["data"], "b": [], "u": 2}}
BAD_TEXT = "{not json"
BAD_BYTES = b"\xff\xfe\x00garbage"
BAD_SHAPE = '{"topic": 5}'  # JSON, but no frame the protocol knows


@pytest.fixture
async def scripted_venue() -> AsyncIterator[str]:
    async def public(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                continue
            request_body = json.loads(message.data)
            if request_body.get("op") != "subscribe":
                continue
            await socket.send_str(
                json.dumps({"success": True, "op": "subscribe", "req_id": request_body["req_id"]})
            )
            await socket.send_str(json.dumps(SNAPSHOT))
            await socket.send_str(BAD_TEXT)
            await socket.send_bytes(BAD_BYTES)
            await socket.send_str(BAD_SHAPE)
            await socket.send_str(json.dumps(DELTA))
        return socket

    app = web.Application()
    app.router.add_get("/v5/public/linear", public)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"ws://127.0.0.1:{port}"
    await runner.cleanup()


async def test_malformed_frames_are_kept_raw_counted_and_lose_nothing_around_them(
    nats_server: NatsServer, scripted_venue: str, tmp_path: Path
) -> None:
    settings = load_settings(
        RecorderSettings,
        symbols=["BTCUSDT"],
        topics=["orderbook.50"],
        dir=tmp_path,
        nats={"url": nats_server.url},
        http={"port": free_port()},
        flush_interval_s=0.05,
        venue={"ws_url": scripted_venue},
    )
    async with running_recorder(settings) as service:
        await eventually(lambda: service.router.last_update_id("orderbook.50.BTCUSDT") == 2)
        malformed = {"kind": "malformed"}
        await eventually(lambda: metric(settings, "recorder_frames_total", malformed), timeout=5)
        assert await metric(settings, "recorder_frames_total", malformed) == 3
        assert service.readiness()[0]
    frames = list(read(tmp_path))
    venue = [f.message() for f in frames if f.kind is Kind.VENUE]
    assert venue == [SNAPSHOT, DELTA]
    bad = [(f.symbol, f.raw) for f in frames if f.kind is Kind.MALFORMED]
    assert sorted(raw for _, raw in bad) == sorted(
        [BAD_TEXT.encode(), BAD_BYTES, BAD_SHAPE.encode()]
    )
    assert {symbol for symbol, _ in bad} == {"_unrouted"}

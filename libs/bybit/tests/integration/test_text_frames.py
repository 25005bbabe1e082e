"""Text frames reach the handler as the venue's bytes; bad UTF-8 in one is a counted drop.

The venue is a small WebSocket server on loopback that acks the subscribe and then sends text
frames, one of them with a byte that is not UTF-8 (as `text=True` bytes, which websockets sends
unchecked).
"""

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_runtime.testing.waiting import eventually

TOPIC = "orderbook.50.BTCUSDT"
FIRST = '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","data":{"s":"BTCUSDT","u":1}}'
LAST = '{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"s":"BTCUSDT","u":2}}'
NOT_UTF8 = b'{"topic":"orderbook.50.\xffBTCUSDT","type":"delta"}'


async def venue(connection: ServerConnection) -> None:
    async for text in connection:
        if '"subscribe"' not in str(text):
            continue
        request_id = str(text).split('"req_id":"')[1].split('"')[0]
        ack = f'{{"success":true,"ret_msg":"","op":"subscribe","req_id":"{request_id}"}}'
        await connection.send(ack)
        await connection.send(FIRST)
        await connection.send(NOT_UTF8, text=True)
        await connection.send(LAST)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve(venue, "127.0.0.1", 0) as running:
        yield running


async def test_text_frames_arrive_as_bytes_and_bad_utf8_is_dropped_on_a_live_connection(
    server: Server,
) -> None:
    port = next(iter(server.sockets)).getsockname()[1]
    frames: list[PublicFrame] = []
    events: list[ConnectionEvent] = []
    stream = PublicStream(
        f"ws://127.0.0.1:{port}/v5/public/linear", frames.append, topics=[TOPIC],
        on_state=events.append,
    )  # fmt: skip
    stream.start()
    try:
        await eventually(lambda: len(frames) == 2, timeout=5.0)
        assert stream.connection.undecodable_frames == 1
        assert stream.connection.connected
        assert not any(isinstance(event, Disconnected) for event in events)
    finally:
        await stream.close()
    assert [frame.payload for frame in frames] == [FIRST.encode(), LAST.encode()]
    assert all(type(frame.payload) is bytes for frame in frames)

"""Bad venue frames over a real loopback WebSocket: counted and dropped, never a crash.

The venue here is a small scripted WebSocket server speaking Bybit's public protocol (acks for
subscribe/unsubscribe, a snapshot on each book subscribe); instruments come from the simulator's
REST. The test pushes whatever bytes it likes and watches what the gateway publishes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from md_gateway.instruments import load_definitions
from mm_proto import BookTop, FeedState, FeedStatus, Trade
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import GatewayRig

TOPIC = "orderbook.50.BTCUSDT"


def book_frame(kind: str, update_id: int, bid: str, ask: str, size: str = "1.000") -> str:
    return json.dumps(
        {
            "topic": TOPIC,
            "type": kind,
            "ts": 1_700_000_000_000 + update_id,
            "data": {"s": "BTCUSDT", "b": [[bid, size]], "a": [[ask, size]], "u": update_id},
            "cts": 1_700_000_000_000 + update_id,
        }
    )


class ScriptedVenue:
    """A public WS endpoint: acks every op, sends a snapshot on book subscribe, and `push`es."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.subscribes = 0
        self.snapshot_id = 100
        self.server: Server | None = None

    async def handle(self, connection: ServerConnection) -> None:
        self.connections.append(connection)
        async for text in connection:
            request = json.loads(text)
            reply = {"success": True, "ret_msg": "", "op": request["op"], "conn_id": "c1"}
            reply["req_id"] = request.get("req_id", "")
            await connection.send(json.dumps(reply))
            if request["op"] == "subscribe" and TOPIC in request["args"]:
                self.subscribes += 1
                self.snapshot_id += 100
                snapshot = book_frame("snapshot", self.snapshot_id, "60000.0", "60000.5")
                await connection.send(snapshot)

    async def push(self, *frames: str | bytes) -> None:
        for frame in frames:
            await self.connections[-1].send(frame)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[ScriptedVenue, int]]:
    scripted = ScriptedVenue()
    async with serve(scripted.handle, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield scripted, port


async def test_bad_frames_are_counted_and_the_feed_recovers(
    rig: GatewayRig, venue: tuple[ScriptedVenue, int]
) -> None:
    scripted, port = venue
    settings = rig.settings(venue={"ws_url": f"ws://127.0.0.1:{port}"})
    recorder = rig.recorder
    async with rig.running(settings):
        await recorder.wait_state("BTCUSDT", FeedState.LIVE)
        await scripted.push(book_frame("delta", 201, "60000.1", "60000.5"))
        await eventually(
            lambda: [t.update_id for t in recorder.of(BookTop, "BTCUSDT")] == [200, 201]
        )

        await scripted.push(
            "this is not json",
            b"\xff\xfe binary junk",
            book_frame("delta", 202, "60000.15", "60000.5"),  # off the 0.10 tick grid
            '{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[{"p":"x"}]}',
            '{"topic":"tickers.BTCUSDT","type":"snapshot","data":{}}',
        )

        stale = await recorder.wait_state("BTCUSDT", FeedState.STALE, after=2)
        assert stale.reason.startswith("refused frame: ")
        await recorder.wait_state("BTCUSDT", FeedState.LIVE, after=2)
        await eventually(lambda: scripted.subscribes == 2)
        await eventually(lambda: rig_metric_positive(rig, settings, "undecodable"))
        assert await rig.metric(settings, "md_gateway_bad_frames_total", {"kind": "book"}) == 1
        assert await rig.metric(settings, "md_gateway_bad_frames_total", {"kind": "trade"}) == 1
        assert await rig.metric(settings, "md_gateway_resyncs_total", {"reason": "refused"}) == 1
        assert await rig.metric(settings, "md_gateway_frames_total", {"kind": "other"}) == 1

        await scripted.push(book_frame("delta", 301, "60000.2", "60000.5"))
        top = await eventually(lambda: top_at(recorder.of(BookTop, "BTCUSDT"), 301))

    assert (top.bid_price_ticks, top.ask_price_ticks) == (600002, 600005)
    assert 202 not in {t.update_id for t in recorder.of(BookTop, "BTCUSDT")}
    assert not recorder.of(Trade, "BTCUSDT")


async def rig_metric_positive(rig: GatewayRig, settings: Any, kind: str) -> bool:
    return await rig.metric(settings, "md_gateway_bad_frames_total", {"kind": kind}) >= 2


def top_at(tops: list[BookTop], update_id: int) -> BookTop | None:
    return next((top for top in tops if top.update_id == update_id), None)


async def test_an_update_id_of_one_mid_stream_is_a_fresh_book_and_stays_live(
    rig: GatewayRig, venue: tuple[ScriptedVenue, int]
) -> None:
    scripted, port = venue
    settings = rig.settings(venue={"ws_url": f"ws://127.0.0.1:{port}"})
    recorder = rig.recorder
    async with rig.running(settings):
        await recorder.wait_state("BTCUSDT", FeedState.LIVE)
        await scripted.push(book_frame("delta", 201, "60000.1", "60000.5"))

        await scripted.push(book_frame("delta", 1, "59000.0", "59000.1", size="2.000"))
        await scripted.push(book_frame("delta", 2, "59000.0", "59000.2"))

        top = await eventually(lambda: top_at(recorder.of(BookTop, "BTCUSDT"), 2))
        assert (
            await rig.metric(settings, "md_gateway_resyncs_total", {"reason": "venue_restart"}) == 1
        )

    assert (top.bid_price_ticks, top.bid_size_lots) == (590000, 1000)
    assert (top.ask_price_ticks, top.ask_size_lots) == (590001, 2000)
    assert [s.state for s in recorder.of(FeedStatus, "BTCUSDT")][-1] is FeedState.LIVE
    assert FeedState.RESYNCING not in {s.state for s in recorder.statuses("BTCUSDT")}


async def test_a_frame_of_another_depth_never_reaches_the_book_and_one_without_a_side_is_refused(
    rig: GatewayRig, venue: tuple[ScriptedVenue, int]
) -> None:
    scripted, port = venue
    settings = rig.settings(venue={"ws_url": f"ws://127.0.0.1:{port}"})
    recorder = rig.recorder
    async with rig.running(settings):
        await recorder.wait_state("BTCUSDT", FeedState.LIVE)
        one_level = book_frame("snapshot", 900, "59000.0", "59000.1")
        await scripted.push(
            one_level.replace(TOPIC, "orderbook.1.BTCUSDT"),
            book_frame("delta", 201, "60000.1", "60000.5"),
        )
        top = await eventually(lambda: top_at(recorder.of(BookTop, "BTCUSDT"), 201))
        assert await rig.metric(settings, "md_gateway_frames_total", {"kind": "other"}) == 1

        without_asks = json.loads(book_frame("snapshot", 202, "60000.1", "60000.5"))
        del without_asks["data"]["a"]
        await scripted.push(json.dumps(without_asks))
        stale = await recorder.wait_state("BTCUSDT", FeedState.STALE, after=2)
        assert await rig.metric(settings, "md_gateway_bad_frames_total", {"kind": "book"}) == 1

    assert (top.bid_price_ticks, top.ask_price_ticks) == (600001, 600005)
    assert 900 not in {t.update_id for t in recorder.of(BookTop, "BTCUSDT")}
    assert stale.reason.startswith('refused frame: frame 202 has no "a" levels')
    assert 202 not in {t.update_id for t in recorder.of(BookTop, "BTCUSDT")}


# The start path is exercised through `load_definitions`, which `GatewayService.start` awaits
# first: a failed start through `serve` would also leak the runtime's NATS connection.
async def test_an_unknown_symbol_refuses_to_start_naming_it(rig: GatewayRig) -> None:
    with pytest.raises(LookupError, match="NOSUCHUSDT"):
        await load_definitions(rig.sim.rest_url, "linear", ["BTCUSDT", "NOSUCHUSDT"], 2.0)


async def test_an_unreachable_venue_fails_the_start_after_its_timeout() -> None:
    with pytest.raises(TimeoutError, match=r"instruments-info from http://127\.0\.0\.1:9"):
        await load_definitions("http://127.0.0.1:9", "linear", ["BTCUSDT"], 0.5)


async def test_instruments_are_loaded_from_the_venue_rest_api(rig: GatewayRig) -> None:
    definitions = await load_definitions(rig.sim.rest_url, "linear", ["BTCUSDT", "ETHUSDT"], 2.0)

    assert sorted(definitions) == ["BTCUSDT", "ETHUSDT"]
    assert definitions["ETHUSDT"].tick_size == "0.01"

"""The gateway against the real simulator and NATS: the published book is the venue's book."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from mm_proto import (
    BookDepth,
    BookTop,
    CtlReply,
    FeedState,
    HaltRequest,
    InstrumentDefinition,
    Side,
    StatusRequest,
    Trade,
    decode,
    encode,
    subjects,
)
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import GatewayRig


async def test_published_books_equal_the_simulators_book_at_each_update_id(
    rig: GatewayRig,
) -> None:
    settings = rig.settings(symbols="BTCUSDT,ETHUSDT", tick_trace_interval=1)

    async with rig.running(settings):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            await rig.recorder.wait_state(symbol, FeedState.LIVE)
        for _ in range(15):
            levels = await rig.step_until_book_changes("BTCUSDT")
            await rig.assert_published_equals_simulator("BTCUSDT", levels)
        eth = await rig.sim.admin.book("ETHUSDT", depth=50)
        await rig.assert_published_equals_simulator("ETHUSDT", eth)

    tops = rig.recorder.of(BookTop, "BTCUSDT")
    update_ids = [top.update_id for top in tops]
    assert update_ids == sorted(set(update_ids))
    assert all(top.ts_gateway_ns > 0 and top.ts_exchange_ns > 0 for top in tops)
    book_messages = [item for item in rig.recorder.messages if item.subject.startswith("md.book.")]
    assert all("traceparent" in item.headers for item in book_messages)


async def test_instrument_definitions_come_from_the_venue(rig: GatewayRig) -> None:
    settings = rig.settings(symbols="BTCUSDT,ETHUSDT")

    async with rig.running(settings):
        await eventually(lambda: rig.recorder.of(InstrumentDefinition, "ETHUSDT"))

    btc = rig.recorder.of(InstrumentDefinition, "BTCUSDT")[0]
    eth = rig.recorder.of(InstrumentDefinition, "ETHUSDT")[0]
    assert (btc.tick_size, btc.lot_size, btc.category) == ("0.10", "0.001", "linear")
    assert (eth.tick_size, eth.lot_size) == ("0.01", "0.01")


async def test_public_trades_are_published_in_ticks_and_lots(rig: GatewayRig) -> None:
    settings = rig.settings()

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        await rig.sim.admin.trade("BTCUSDT", "Sell", "0.005")
        trades = await eventually(lambda: rig.recorder.of(Trade, "BTCUSDT"))

    assert sum(trade.size_lots for trade in trades) == 5
    assert {trade.taker_side for trade in trades} == {Side.SELL}
    assert all(trade.price_ticks > 0 and trade.ts_gateway_ns > 0 for trade in trades)


async def test_a_silent_book_goes_stale_and_live_again_without_a_resync(rig: GatewayRig) -> None:
    settings = rig.settings(stale_after_s=0.3)

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        stale = await rig.recorder.wait_state("BTCUSDT", FeedState.STALE, after=1)
        assert stale.reason.startswith("no book update for")
        seen = len(rig.recorder.statuses("BTCUSDT"))

        levels = await rig.step_until_book_changes("BTCUSDT")
        live = await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE, after=seen)
        await rig.assert_published_equals_simulator("BTCUSDT", levels)

        assert live.reason.startswith("updates resumed")
        assert await rig.metric(settings, "md_gateway_resyncs_total") == 0
        assert await rig.metric(settings, "md_gateway_stale_seconds_total") > 0


async def test_the_status_heartbeat_repeats_the_current_state(rig: GatewayRig) -> None:
    settings = rig.settings(status_interval_s=0.1)

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        await eventually(
            lambda: [s.state for s in rig.recorder.statuses("BTCUSDT")][-3:] == [FeedState.LIVE] * 3
        )
        assert await rig.metric(settings, "md_gateway_symbols_live") == 1


async def test_each_published_book_update_starts_an_md_tick_span_carried_in_its_headers(
    rig: GatewayRig, tmp_path: Path
) -> None:
    spans_file = tmp_path / "spans.jsonl"
    settings = rig.settings(
        tick_trace_interval=1, telemetry={"exporter": "file", "file_path": str(spans_file)}
    )

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        levels = await rig.step_until_book_changes("BTCUSDT")
        await rig.assert_published_equals_simulator("BTCUSDT", levels)

    book = next(
        item
        for item in rig.recorder.messages
        if isinstance(item.message, BookTop) and item.message.update_id == levels["u"]
    )
    _, trace_id, span_id, _ = book.headers["traceparent"].split("-")
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    span = next(span for span in spans if span["span_id"] == span_id)
    assert span["name"] == "md.tick"
    assert span["trace_id"] == trace_id
    assert span["start_ns"] == book.message.ts_gateway_ns
    assert span["attributes"]["md.update_id"] == levels["u"]
    assert span["attributes"]["md.ts_received_ns"] == book.message.ts_gateway_ns
    assert span["attributes"]["md.ts_exchange_ns"] == book.message.ts_exchange_ns
    depth = next(
        item
        for item in rig.recorder.messages
        if isinstance(item.message, BookDepth) and item.message.update_id == levels["u"]
    )
    assert depth.headers["traceparent"] == book.headers["traceparent"]


async def test_with_a_trace_interval_one_book_update_in_n_carries_a_trace(
    rig: GatewayRig, tmp_path: Path
) -> None:
    spans_file = tmp_path / "spans.jsonl"
    settings = rig.settings(
        tick_trace_interval=3, telemetry={"exporter": "file", "file_path": str(spans_file)}
    )

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        for _ in range(8):
            levels = await rig.step_until_book_changes("BTCUSDT")
        await rig.assert_published_equals_simulator("BTCUSDT", levels)

    books = [item for item in rig.recorder.messages if isinstance(item.message, BookTop)]
    traced = [item for item in books if "traceparent" in item.headers]
    assert len(books) >= 9
    assert len(traced) == len(books) // 3
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    assert len([span for span in spans if span["name"] == "md.tick"]) == len(traced)


async def test_ctl_status_describes_every_feed_and_other_verbs_are_refused(
    rig: GatewayRig,
) -> None:
    settings = rig.settings(symbols="BTCUSDT,ETHUSDT")
    client = rig.recorder.client

    async with rig.running(settings):
        for symbol in ("BTCUSDT", "ETHUSDT"):
            await rig.recorder.wait_state(symbol, FeedState.LIVE)
        status = await client.request(
            subjects.ctl("md_gateway", "status"), encode(StatusRequest()), timeout=5
        )
        halt = await client.request(
            subjects.ctl("md_gateway", "halt"),
            encode(HaltRequest(reason="test", operator="me")),
            timeout=5,
        )
        junk = await client.request(subjects.ctl("md_gateway", "status"), b"junk", timeout=5)

    reply = decode(status.data, CtlReply)
    assert reply.ok
    assert reply.message == "2 of 2 symbols live"
    assert reply.data["BTCUSDT.state"] == "live"
    assert reply.data["ETHUSDT.topic"] == "orderbook.50.ETHUSDT"
    refused = decode(halt.data, CtlReply)
    assert not refused.ok
    assert "has no halt" in refused.message
    assert not decode(junk.data, CtlReply).ok


async def test_a_depth_one_feed_of_snapshots_only_stays_live_and_matches(rig: GatewayRig) -> None:
    settings = rig.settings(depth=1, top_levels=1)

    async with rig.running(settings):
        await rig.recorder.wait_state("BTCUSDT", FeedState.LIVE)
        for _ in range(5):
            levels = await rig.step_until_book_changes("BTCUSDT", depth=1)
            assert len(levels["b"]) == 1
            await rig.assert_published_equals_simulator("BTCUSDT", levels)
        assert await rig.metric(settings, "md_gateway_resyncs_total") == 0

    states = {status.state for status in rig.recorder.statuses("BTCUSDT")}
    assert states == {FeedState.STALE, FeedState.LIVE} or states == {
        FeedState.STALE,
        FeedState.RESYNCING,
        FeedState.LIVE,
    }
    assert len(rig.recorder.statuses("BTCUSDT")) <= 4

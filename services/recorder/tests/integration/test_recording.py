"""The recorder against the real simulator: everything it sends, gaps as gaps, bus subjects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import nats

from mm_runtime.testing import eventually
from recorder import Kind, ReadStats, read

from .conftest import Rig, book_runs, metric, replayed_book, topic_of


def normalised(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(s)) for p, s in levels]


async def test_every_frame_the_venue_sends_is_recorded_in_order_with_nothing_missing(
    rig: Rig,
) -> None:
    settings = rig.settings(("BTCUSDT", "ETHUSDT"))
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        for _ in range(60):
            await rig.sim.admin.step(1, advance_ms=50)
        sim_book = await rig.sim.admin.book("BTCUSDT", depth=50)
        topic = "orderbook.50.BTCUSDT"
        await eventually(lambda: service.router.last_update_id(topic) == sim_book["u"])
    stats = ReadStats()
    frames = list(read(rig.out, stats=stats))
    assert (stats.truncated_lines, stats.corrupt_files, stats.bad_lines) == (0, 0, 0)
    assert [f.ts_recv_ns for f in frames] == sorted(f.ts_recv_ns for f in frames)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        mine = [f for f in frames if f.symbol == symbol]
        assert [f.reason for f in mine if f.kind is Kind.GAP] == ["recorder started"]
        (run,) = book_runs(mine)
        assert set(run) == {f"orderbook.50.{symbol}", f"orderbook.1.{symbol}"}
        topics = {topic_of(f).split(".")[0] for f in mine if f.kind is Kind.VENUE}
        assert topics == {"orderbook", "publicTrade", "tickers"}
    recorded = replayed_book(frames, "orderbook.50.BTCUSDT")
    assert normalised(recorded["b"]) == normalised(sim_book["b"])
    assert normalised(recorded["a"]) == normalised(sim_book["a"])
    assert service.writer.counts.lines == len(frames)


async def test_a_venue_disconnect_is_recorded_as_a_gap_and_recording_resumes(rig: Rig) -> None:
    settings = rig.settings()
    sim_book: dict[str, Any] = {}
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        for _ in range(10):
            await rig.sim.admin.step(1, advance_ms=50)
        await rig.sim.admin.drop_connections("public")
        await eventually(lambda: metric(settings, "recorder_reconnects_total"), timeout=10)
        await eventually(lambda: service.readiness()[0], timeout=10)
        for _ in range(10):
            await rig.sim.admin.step(1, advance_ms=50)
        sim_book = await rig.sim.admin.book("BTCUSDT", depth=50)
        topic = "orderbook.50.BTCUSDT"
        await eventually(lambda: service.router.last_update_id(topic) == sim_book["u"])
        assert await metric(settings, "recorder_gaps_total", {"reason": "disconnect"}) == 1
    frames = rig.frames(symbols=["BTCUSDT"])
    reasons = [f.reason for f in frames if f.kind is Kind.GAP]
    assert reasons[0] == "recorder started"
    assert any(reason.startswith("disconnected: ") for reason in reasons[1:])
    runs = book_runs(frames)  # each run opens with a snapshot and u follows by one
    assert len(runs) == 2
    resumed = runs[1]["orderbook.50.BTCUSDT"]
    assert len(resumed) >= 5
    assert resumed[-1] == sim_book["u"]


async def test_a_sequence_gap_is_recorded_and_the_topic_gets_a_fresh_snapshot(rig: Rig) -> None:
    settings = rig.settings()
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        await rig.sim.admin.step(3, advance_ms=50)
        await rig.sim.admin.set_faults({"delta_fault": "skip", "delta_fault_count": 1})
        for _ in range(20):
            await rig.sim.admin.step(1, advance_ms=50)
        await eventually(lambda: metric(settings, "recorder_gaps_total", {"reason": "sequence"}))
        await eventually(lambda: service.router.last_update_id("orderbook.50.BTCUSDT") is not None)
    frames = rig.frames()
    gaps = [f for f in frames if f.kind is Kind.GAP and f.reason.startswith("sequence gap")]
    assert len(gaps) == 1
    after = [f for f in frames if f.ts_recv_ns > gaps[0].ts_recv_ns and f.kind is Kind.VENUE]
    topic = gaps[0].reason.split(" ")[3].rstrip(":")
    first = next(f.message() for f in after if topic_of(f) == topic)
    assert first["type"] == "snapshot"


async def test_chosen_bus_subjects_are_recorded_beside_their_symbol(rig: Rig) -> None:
    settings = rig.settings(bus_subjects=["exec.>"])
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        client = await nats.connect(rig.nats_server.url)
        await client.publish("exec.fill.bybit.linear.BTCUSDT", b"\x81\xa1a\x01")
        await client.publish("exec.fill.bybit.linear.SOLUSDT", b"\x80")
        await client.publish("quote.intent.bybit.linear.BTCUSDT", b"not asked for")
        await client.drain()
        bus_frames = {"kind": "bus"}
        await eventually(lambda: metric(settings, "recorder_frames_total", bus_frames))
        assert await metric(settings, "recorder_frames_total", bus_frames) == 2
    bus = rig.frames(kinds=[Kind.BUS])
    assert [(f.symbol, f.subject, f.raw) for f in bus] == [
        ("BTCUSDT", "exec.fill.bybit.linear.BTCUSDT", b"\x81\xa1a\x01"),
        ("SOLUSDT", "exec.fill.bybit.linear.SOLUSDT", b"\x80"),
    ]

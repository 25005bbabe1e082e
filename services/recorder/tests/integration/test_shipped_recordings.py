"""The recordings shipped in data/recordings read cleanly and replay in the simulator."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from mm_sim.settings import InstrumentConfig
from mm_sim.testing import running_simulator, simulator_settings
from recorder import Kind, ReadStats, read
from recorder.layout import recorded_files

from .conftest import book_runs, replayed_book

RECORDINGS = Path(__file__).resolve().parents[4] / "data" / "recordings"
XRP = InstrumentConfig(
    symbol="XRPUSDT",
    base_coin="XRP",
    tick_size=Decimal("0.0001"),
    qty_step=Decimal("1"),
    min_order_qty=Decimal("1"),
    max_order_qty=Decimal("1000000"),
    start_price=Decimal("1.95"),
)


def test_the_shipped_recordings_read_without_damage_and_without_a_lost_update() -> None:
    stats = ReadStats()
    frames = list(read(RECORDINGS, stats=stats))
    assert (stats.truncated_lines, stats.corrupt_files, stats.bad_lines) == (0, 0, 0)
    assert {f.symbol for f in frames} == {"XRPUSDT", "BTCUSDT", "ETHUSDT"}
    for symbol in ("BTCUSDT", "ETHUSDT"):
        mine = [f for f in frames if f.symbol == symbol]
        (run,) = book_runs(mine)
        assert len(run[f"orderbook.50.{symbol}"]) > 500
        assert any(f.kind is Kind.VENUE and b"publicTrade" in f.raw for f in mine)
    (real,) = book_runs([f for f in frames if f.symbol == "XRPUSDT"])
    assert real["orderbook.500.XRPUSDT"] == list(range(20254869, 20254919))


async def test_the_real_recording_replays_in_the_simulator_to_its_last_book() -> None:
    (path,) = recorded_files(RECORDINGS / "bybit-real")
    expected = replayed_book(read(path), "orderbook.500.XRPUSDT")
    async with running_simulator(
        simulator_settings(instruments=[XRP], replay_file=str(path))
    ) as sim:
        state = sim.venue.exchange.symbols[("linear", "XRPUSDT")]
        await sim.admin.step(60)
        assert state.model.exhausted
        assert state.model.frames_applied == 50
        book = await sim.admin.book("XRPUSDT", depth=1000)
    assert [(Decimal(p), Decimal(s)) for p, s in book["b"]] == [
        (Decimal(p), Decimal(s)) for p, s in expected["b"]
    ]
    assert len(book["a"]) == 500

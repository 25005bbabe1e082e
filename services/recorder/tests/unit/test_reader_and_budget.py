"""`read` merges symbols and hours by receive time; the budget deletes the oldest hours."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from recorder import Kind, ReadStats, read
from recorder.budget import enforce
from recorder.layout import HOUR_NS, SymbolKey, path_for, recorded_files
from recorder.lines import gap_line, venue_line
from recorder.writer import HourlyWriter

ROOT = Path(__file__).resolve().parents[4]
ARCHIVE = ROOT / "sim" / "tests" / "data" / "replay" / "2024-12-01_XRPUSDT_ob500.jsonl"
HOUR = 1_764_730_800_000_000_000  # 2025-12-03 03:00 UTC
BTC = SymbolKey("bybit", "linear", "BTCUSDT")
ETH = SymbolKey("bybit", "linear", "ETHUSDT")


def frame(symbol: str, n: int) -> bytes:
    return b'{"topic":"publicTrade.%s","n":%d}' % (symbol.encode(), n)


def write(root: Path, items: list[tuple[SymbolKey, int, int]]) -> None:
    """(symbol, receive time, n) in any order across symbols, in time order per symbol."""
    writer = HourlyWriter(root)
    for key, ts, n in items:
        line = venue_line(ts, frame(key.symbol, n))
        assert line is not None
        writer.add(key, ts, line)
    writer.close()


def test_frames_come_in_receive_time_order_across_symbols_and_hours(tmp_path: Path) -> None:
    times = [HOUR + 2, HOUR + 1, HOUR + 5, HOUR + HOUR_NS + 3, HOUR + 9, HOUR + HOUR_NS + 1]
    keys = [BTC, ETH, BTC, BTC, ETH, ETH]
    write(tmp_path, [(k, t, i) for i, (k, t) in enumerate(zip(keys, times, strict=True))])
    assert len(recorded_files(tmp_path)) == 4  # two symbols x two hours
    stats = ReadStats()
    frames = list(read(tmp_path, stats=stats))
    assert [f.ts_recv_ns for f in frames] == sorted(times)
    assert [f.symbol for f in frames] == [
        "ETHUSDT",
        "BTCUSDT",
        "BTCUSDT",
        "ETHUSDT",
        "ETHUSDT",
        "BTCUSDT",
    ]
    assert frames[0].message() == {"topic": "publicTrade.ETHUSDT", "n": 1}
    assert (stats.files, stats.frames, stats.truncated_lines, stats.bad_lines) == (4, 6, 0, 0)


def test_symbols_window_and_kinds_select_what_is_read(tmp_path: Path) -> None:
    write(tmp_path, [(BTC, HOUR + n, n) for n in range(10)] + [(ETH, HOUR + 3, 99)])
    writer = HourlyWriter(tmp_path)
    writer.add(BTC, HOUR + 20, gap_line(HOUR + 20, "disconnected: test"))
    writer.close()
    btc = list(read(tmp_path, symbols=["BTCUSDT"], start_ns=HOUR + 2, end_ns=HOUR + 5))
    assert [f.ts_recv_ns - HOUR for f in btc] == [2, 3, 4]
    gaps = list(read(tmp_path, kinds=[Kind.GAP]))
    assert [(g.kind, g.reason) for g in gaps] == [(Kind.GAP, "disconnected: test")]
    assert list(read(tmp_path, venue="okx")) == []
    assert list(read(tmp_path, end_ns=HOUR)) == []


def test_a_plain_file_of_venue_frames_reads_with_the_venue_time() -> None:
    frames = list(read(ARCHIVE))
    assert len(frames) == 50
    assert {f.symbol for f in frames} == {"XRPUSDT"}
    assert frames[0].message()["type"] == "snapshot"
    assert [f.ts_recv_ns for f in frames] == sorted(f.ts_recv_ns for f in frames)
    assert frames[0].raw == ARCHIVE.read_bytes().splitlines()[0]  # CRLF file: no \r kept


def test_reading_a_missing_path_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="recording directory or file"):
        list(read(tmp_path / "nothing"))


def test_the_budget_deletes_the_oldest_hours_first_and_never_an_open_file(tmp_path: Path) -> None:
    hours = [HOUR + h * HOUR_NS for h in range(4)]
    write(tmp_path, [(key, ts, n) for n, ts in enumerate(hours) for key in (BTC, ETH)])
    for path in recorded_files(tmp_path):  # same size each, so the count is what matters
        path.write_bytes(os.urandom(1000))
    newest_btc = path_for(tmp_path, BTC, hours[-1])
    sweep = enforce(tmp_path, budget_bytes=4500, open_paths={newest_btc})
    left = recorded_files(tmp_path)
    assert sweep.size_bytes == 4000
    assert not sweep.over
    assert sorted(sweep.deleted) == sorted(
        path_for(tmp_path, key, ts) for ts in hours[:2] for key in (BTC, ETH)
    )
    assert newest_btc in left
    assert len(left) == 4
    tight = enforce(tmp_path, budget_bytes=500, open_paths={newest_btc})
    assert recorded_files(tmp_path) == [newest_btc]
    assert tight.over
    assert not (tmp_path / "bybit" / "linear" / "ETHUSDT").exists()  # emptied dirs go too


def test_an_unlimited_budget_only_measures(tmp_path: Path) -> None:
    write(tmp_path, [(BTC, HOUR, 1)])
    sweep = enforce(tmp_path, budget_bytes=0, open_paths=set())
    assert sweep.size_bytes > 0
    assert sweep.deleted == ()
    assert not sweep.over
    shutil.rmtree(tmp_path)
    assert enforce(tmp_path, 10, set()).size_bytes == 0

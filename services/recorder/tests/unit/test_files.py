"""Recorded files: complete zstd frames per flush; a cut tail is skipped on read and repaired."""

from __future__ import annotations

from pathlib import Path

import zstandard

from recorder.layout import HOUR_NS, SymbolKey, path_for
from recorder.writer import HourlyWriter
from recorder.zstd_lines import TailStats, complete_frames_end, read_lines, repair

KEY = SymbolKey("bybit", "linear", "BTCUSDT")
TS = 1_764_730_800_000_000_000  # 2025-12-03 03:00 UTC


def write_flushes(root: Path, flushes: int, lines_per_flush: int) -> tuple[Path, list[bytes]]:
    writer = HourlyWriter(root)
    written = []
    for flush in range(flushes):
        for n in range(lines_per_flush):
            line = b'{"ts_recv_ns":%d,"topic":"t","n":%d}' % (TS + flush, flush * 100 + n)
            writer.add(KEY, TS + flush, line + b"\n")
            written.append(line)
        writer.flush()
    (path,) = writer.open_paths
    writer.close()
    return path, written


def test_a_file_is_a_sequence_of_complete_frames_any_zstd_reader_decodes(tmp_path: Path) -> None:
    path, written = write_flushes(tmp_path, 3, 4)
    with path.open("rb") as handle:
        plain = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True).read()
    assert plain.splitlines() == written
    assert complete_frames_end(path) == path.stat().st_size


def test_a_file_cut_at_any_byte_reads_a_prefix_of_its_lines_without_raising(
    tmp_path: Path,
) -> None:
    path, written = write_flushes(tmp_path, 3, 5)
    data = path.read_bytes()
    cut = tmp_path / "cut.jsonl.zst"
    for size in range(len(data) + 1):
        cut.write_bytes(data[:size])
        stats = TailStats()
        lines = list(read_lines(cut, stats))
        assert lines == written[: len(lines)]
        assert stats.truncated_lines <= 1


def test_repair_cuts_the_unfinished_frame_keeps_its_whole_lines_and_allows_appending(
    tmp_path: Path,
) -> None:
    path, written = write_flushes(tmp_path, 2, 50)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])  # killed while appending the second frame
    readable = list(read_lines(path))
    salvaged = repair(path)
    assert complete_frames_end(path) == path.stat().st_size
    assert list(read_lines(path)) == readable
    assert salvaged.cut_bytes > 0
    assert salvaged.salvaged_lines == len(readable) - 50
    writer = HourlyWriter(tmp_path)
    writer.add(KEY, TS, b'{"ts_recv_ns":1,"after":true}\n')
    writer.close()
    assert writer.counts.repaired_files == 0  # already repaired: a clean file needs nothing
    assert list(read_lines(path)) == [*readable, b'{"ts_recv_ns":1,"after":true}']
    assert readable == written[: len(readable)]


def test_reopening_a_killed_file_repairs_it_before_appending(tmp_path: Path) -> None:
    path, written = write_flushes(tmp_path, 2, 10)
    data = path.read_bytes()
    path.write_bytes(data[:-3])
    writer = HourlyWriter(tmp_path)
    writer.add(KEY, TS, b'{"ts_recv_ns":2,"next":1}\n')
    writer.close()
    assert writer.counts.repaired_files == 1
    lines = list(read_lines(path))
    assert lines[-1] == b'{"ts_recv_ns":2,"next":1}'
    assert lines[:-1] == written[: len(lines) - 1]


def test_a_damaged_frame_ends_the_file_quietly_and_is_counted(tmp_path: Path) -> None:
    path, written = write_flushes(tmp_path, 3, 10)
    data = bytearray(path.read_bytes())
    data[-20:-10] = b"\x00" * 10  # corrupt the last frame's payload
    path.write_bytes(bytes(data))
    stats = TailStats()
    lines = list(read_lines(path, stats))
    assert lines == written[: len(lines)]
    assert len(lines) >= 20
    assert stats.corrupt_files + stats.truncated_lines >= 1


def test_a_line_of_a_new_hour_closes_the_old_file_and_opens_the_next(tmp_path: Path) -> None:
    writer = HourlyWriter(tmp_path)
    writer.add(KEY, TS + HOUR_NS - 1, b'{"ts_recv_ns":1,"n":1}\n')
    first = path_for(tmp_path, KEY, TS)
    assert writer.open_paths == {first}
    writer.add(KEY, TS + HOUR_NS, b'{"ts_recv_ns":2,"n":2}\n')
    second = path_for(tmp_path, KEY, TS + HOUR_NS)
    assert writer.open_paths == {second}
    assert writer.counts.files_closed == 1
    assert list(read_lines(first)) == [b'{"ts_recv_ns":1,"n":1}']  # flushed on close
    writer.close_before(TS + HOUR_NS + 5)  # still the current hour: stays open
    assert writer.open_paths == {second}
    writer.close_before(TS + 2 * HOUR_NS)  # that hour has passed, even with no new line
    assert writer.open_paths == frozenset()
    assert writer.counts.files_closed == 2
    assert list(read_lines(second)) == [b'{"ts_recv_ns":2,"n":2}']

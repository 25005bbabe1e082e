"""Writes the OS refuses (a file-size limit standing in for a full disk): undone, kept, retried.

Runs in a child process because the limit (RLIMIT_FSIZE) is per process; the child reports what
it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from recorder import Kind, ReadStats, read
from recorder.layout import SymbolKey
from recorder.lines import venue_line
from recorder.writer import HourlyWriter

CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from recorder.layout import SymbolKey
    from recorder.lines import venue_line
    from recorder.writer import HourlyWriter

    root, limit, max_pending = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, like ENOSPC
    key = SymbolKey("bybit", "linear", "BTCUSDT")
    writer = HourlyWriter(root, level=1, max_pending_bytes=max_pending)
    ts = 1_764_730_800_000_000_000

    def add(n):
        pad = os.urandom(200).hex().encode()
        frame = b'{"topic":"publicTrade.BTCUSDT","n":%d,"p":"%s"}' % (n, pad)
        line = venue_line(ts + n, frame)
        writer.add(key, ts + n, line)

    for n in range(20):
        add(n)
        writer.flush()
    size_ok = writer.counts.bytes_written
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_ok + limit, resource.RLIM_INFINITY))
    for n in range(20, 80):
        add(n)
        writer.flush()
    failed = dict(errors=writer.counts.write_errors, dropped=writer.counts.lines_dropped,
                  pending=writer.pending_bytes, size=os.path.getsize(next(iter(writer.open_paths))))
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    writer.flush()
    add(80)
    writer.close()
    print(json.dumps(dict(failed=failed, lines=writer.counts.lines)))
    """
)


def run_child(root: Path, limit: int, max_pending: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(limit), str(max_pending)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def test_a_refused_write_is_undone_and_its_lines_written_once_space_returns(
    tmp_path: Path,
) -> None:
    result = run_child(tmp_path, limit=3000, max_pending=1 << 20)
    failed = result["failed"]
    assert isinstance(failed, dict)
    assert failed["errors"] > 0
    assert failed["dropped"] == 0
    assert failed["pending"] > 0
    stats = ReadStats()
    frames = list(read(tmp_path, stats=stats))
    assert (stats.truncated_lines, stats.corrupt_files) == (0, 0)  # no half frame left behind
    assert [f.message()["n"] for f in frames] == list(range(81))


def test_beyond_the_pending_limit_lines_are_dropped_and_a_gap_says_how_many(
    tmp_path: Path,
) -> None:
    result = run_child(tmp_path, limit=0, max_pending=5000)
    failed = result["failed"]
    assert isinstance(failed, dict)
    assert failed["dropped"] > 0
    frames = list(read(tmp_path))
    numbers = [f.message()["n"] for f in frames if f.kind is Kind.VENUE]
    gaps = [f.reason for f in frames if f.kind is Kind.GAP]
    assert gaps == [f"write failed: dropped {failed['dropped']} lines before this"]
    assert numbers[:20] == list(range(20))
    assert numbers[-1] == 80
    assert len(numbers) + int(failed["dropped"]) == 81


def test_lines_for_a_file_that_cannot_be_opened_are_counted_and_noted_as_a_gap(
    tmp_path: Path,
) -> None:
    key = SymbolKey("bybit", "linear", "BTCUSDT")
    ts = 1_764_730_800_000_000_000
    (tmp_path / "bybit").write_text("in the way")  # the directory cannot be made
    writer = HourlyWriter(tmp_path)
    for n in range(3):
        writer.add(key, ts + n, venue_line(ts + n, b'{"topic":"t","n":%d}' % n) or b"")
    assert (writer.counts.lines_dropped, writer.counts.write_errors) == (3, 3)
    (tmp_path / "bybit").unlink()
    writer.add(key, ts + 3, venue_line(ts + 3, b'{"topic":"t","n":3}') or b"")
    writer.close()
    frames = list(read(tmp_path))
    assert [(f.kind, f.reason) for f in frames[:1]] == [
        (Kind.GAP, "write failed: dropped 3 lines before this")
    ]
    assert frames[0].ts_recv_ns == ts + 2
    assert [f.message()["n"] for f in frames[1:]] == [3]

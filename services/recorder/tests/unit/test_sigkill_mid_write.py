"""A writer process SIGKILLed while the OS is still copying a frame into the file.

The child appends large zstd frames (random, so compression is quick and the frame is big);
the parent watches the file and sends SIGKILL the moment it starts to grow past the last whole
frame, so the kill lands inside the write. Whatever is left must read without an error, keep
every line of the whole frames, and take new lines after a repair.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from recorder.layout import SymbolKey, recorded_files
from recorder.writer import HourlyWriter
from recorder.zstd_lines import TailStats, complete_frames_end, read_lines

KEY = SymbolKey("bybit", "linear", "BTCUSDT")
CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from recorder.layout import SymbolKey
    from recorder.writer import HourlyWriter

    writer = HourlyWriter(Path(sys.argv[1]), level=1, max_pending_bytes=1 << 30)
    key = SymbolKey("bybit", "linear", "BTCUSDT")
    ts = 1_764_730_800_000_000_000
    n = 0
    while True:
        for _ in range(40_000):
            pad = os.urandom(400).hex().encode()
            line = b'{"ts_recv_ns":%d,"n":%d,"pad":"%s"}\\n' % (ts, n, pad)
            writer.add(key, ts, line)
            n += 1
        writer.flush()
        print(writer.counts.bytes_written, flush=True)
    """
)


def kill_during_a_write(root: Path) -> tuple[Path, int]:
    """Start the child, wait for its first whole frame, kill it while the next one is written."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        first_end = int(child.stdout.readline())
        (path,) = recorded_files(root)
        deadline = time.monotonic() + 30
        while path.stat().st_size <= first_end and time.monotonic() < deadline:
            pass  # spin: the window is the few milliseconds of one large write
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    return path, first_end


def test_a_kill_inside_a_write_leaves_a_file_that_reads_and_repairs(tmp_path: Path) -> None:
    for attempt in range(5):
        root = tmp_path / f"attempt-{attempt}"
        path, first_end = kill_during_a_write(root)
        size = path.stat().st_size
        if complete_frames_end(path) < size:
            break  # the kill landed mid-frame, as wanted
    assert first_end <= complete_frames_end(path) < size, "no kill landed inside a write"
    stats = TailStats()
    lines = list(read_lines(path, stats))
    assert [int(line.split(b'"n":')[1].split(b",")[0]) for line in lines] == list(range(len(lines)))
    assert len(lines) >= 40_000  # the first whole frame at least
    assert stats.truncated_lines <= 1
    writer = HourlyWriter(root)
    writer.add(KEY, 1_764_730_800_000_000_000, b'{"ts_recv_ns":1,"n":"after"}\n')
    writer.close()
    assert writer.counts.repaired_files == 1
    again = list(read_lines(path))
    assert again == [*lines, b'{"ts_recv_ns":1,"n":"after"}']
    assert os.path.getsize(path) > first_end

"""`python -m recorder.importing`: plain files of venue frames into the recording layout.

For recordings made by other tools (Bybit's order-book archive, a capture as JSON lines): each
frame keeps its bytes; its receive time is the venue's `ts` (ms), the only time such files carry,
and each symbol's file opens with a gap line saying so. The result reads with `recorder.read`
and replays in the simulator like a recording the recorder made.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from recorder import layout
from recorder.lines import Kind, gap_line, venue_line
from recorder.reader import read
from recorder.writer import HourlyWriter


def import_frames(
    sources: Sequence[Path], out: Path, venue: str = "bybit", category: str = "linear"
) -> int:
    """Write the venue frames of `sources` under `out`; the number of frames written."""
    writer = HourlyWriter(out, level=19)
    started: set[str] = set()
    count = 0
    for frame in read(list(sources), kinds=[Kind.VENUE]):
        key = layout.SymbolKey(venue, category, frame.symbol)
        ts = frame.ts_recv_ns
        if frame.symbol not in started:
            started.add(frame.symbol)
            writer.add(key, ts, gap_line(ts, "imported: receive time is the venue's ts"))
        line = venue_line(ts, frame.raw)
        if line is None:
            raise ValueError(f"expected a JSON object frame, got {frame.raw[:60]!r}")
        writer.add(key, ts, line)
        count += 1
    writer.close()
    return count


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recorder.importing", description=__doc__)
    parser.add_argument("sources", type=Path, nargs="+", help="plain .jsonl files of frames")
    parser.add_argument("--out", type=Path, required=True, help="recording directory")
    parser.add_argument("--venue", default="bybit")
    parser.add_argument("--category", default="linear")
    arguments = parser.parse_args(argv)
    count = import_frames(arguments.sources, arguments.out, arguments.venue, arguments.category)
    print(f"imported {count} frames into {arguments.out}")


if __name__ == "__main__":
    main()

"""Benchmark of the recorder's file path: frames routed and written, then read back.

The frames are the shipped synthetic recording's (`data/recordings/sim-synthetic`: BTCUSDT and
ETHUSDT `orderbook.50`, `orderbook.1`, `publicTrade`, `tickers` as the simulator sent them),
cycled with rising receive times over `--symbols` symbols (copies of the two). The write side
is what the service does per frame (`Router.venue_frame`, `HourlyWriter.add`) plus a flush every
`--flush-every` frames (one zstd frame per symbol); the read side is `recorder.read` over the
result, with and without decoding each frame. Venue rates for scale: Bybit's busiest linear
symbols send a few hundred public frames a second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from recorder import Kind, read
from recorder.routing import Router
from recorder.writer import HourlyWriter

RECORDING = Path(__file__).resolve().parents[1] / "data" / "recordings" / "sim-synthetic"
START_NS = 1_764_730_800_000_000_000


def source_frames() -> list[tuple[str, bytes]]:
    """(topic, raw frame) of every venue frame of the shipped recording."""
    frames = []
    for frame in read(RECORDING, kinds=[Kind.VENUE]):
        frames.append((str(frame.message()["topic"]), frame.raw))
    return frames


def write(
    root: Path, frames: list[tuple[str, bytes]], total: int, symbols: int, flush_every: int
) -> float:
    """Each pass over the source frames goes to the next copy of its symbols, so book `u` runs
    on (one sequence gap per topic when a copy's next pass starts over)."""
    copies = [
        [(f"{topic}{copy}", raw) for topic, raw in frames] for copy in range(max(1, symbols // 2))
    ]
    topics = {topic: topic.rsplit(".", 1)[1] for copy in copies for topic, _ in copy}
    router = Router("bybit", "linear", topics)
    writer = HourlyWriter(root)
    started = time.perf_counter()
    for n in range(total):
        copy = copies[(n // len(frames)) % len(copies)]
        topic, raw = copy[n % len(frames)]
        ts = START_NS + n * 1_000_000
        routed = router.venue_frame(ts, topic, raw)
        writer.add(routed.key, ts, routed.line)
        if n % flush_every == flush_every - 1:
            writer.flush()
    writer.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--flush-every", type=int, default=500)
    arguments = parser.parse_args()
    frames = source_frames()
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as scratch:
        root = Path(scratch)
        write_s = write(root, frames, arguments.frames, arguments.symbols, arguments.flush_every)
        size = sum(path.stat().st_size for path in root.rglob("*.jsonl.zst"))
        raw_size = sum(len(raw) for _, raw in frames) * arguments.frames / len(frames)
        started = time.perf_counter()
        count = sum(1 for _ in read(root))
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        decoded = sum(1 for frame in read(root, kinds=[Kind.VENUE]) if frame.message())
        decode_s = time.perf_counter() - started
    print(
        f"{arguments.frames:,} frames over {arguments.symbols} symbols, a flush every "
        f"{arguments.flush_every} frames; {size / arguments.frames:.0f} bytes a frame on disk "
        f"({raw_size / size:.1f}x smaller than the frames)"
    )
    print(f"{'step':<24} {'count':>10} {'seconds':>9} {'per second':>12}")
    for step, done, seconds in (
        ("route + write + flush", arguments.frames, write_s),
        ("read", count, read_s),
        ("read + decode", decoded, decode_s),
    ):
        print(f"{step:<24} {done:>10,} {seconds:>9.2f} {done / seconds:>12,.0f}")


if __name__ == "__main__":
    main()

"""Reading recordings: the one place that knows the on-disk format of recorded frames.

A recording is one or more JSON-lines files, one public WebSocket message per line as Bybit sent
it (`orderbook.N.SYMBOL`, `publicTrade.SYMBOL`; other topics are skipped): the format the
simulator's replay (`mm_sim.replay`) reads and the recorder writes, in the recorder's layout
`<dir>/<venue>/<category>/<symbol>/<YYYY-MM-DD>/<HH>.jsonl`. A directory is searched for
`*.jsonl` files. Frames of every file are merged into one stream ordered by the venue time the
message carries (`ts`, ms), ties broken by file then line, so the order never depends on the
file system. A line that is not a JSON object (a truncated tail after a crash, garbage) is counted
in `SourceStats` and skipped, never a crash.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_NS_PER_MS = 1_000_000
BOOK = "book"
TRADE = "trade"


class SourceError(ValueError):
    """A recording that cannot be read at all (no such file, no frames files in a directory)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One recorded public message: when the venue stamped it, what it is, and its raw bytes."""

    ts_ns: int
    kind: str  # BOOK or TRADE
    symbol: str
    payload: bytes
    message: dict[str, object]


@dataclass
class SourceStats:
    """What reading skipped, by reason, and how many frames were read."""

    frames: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def recording_files(paths: Iterable[Path]) -> list[Path]:
    """The frames files named, directories searched for `*.jsonl`, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(path.rglob("*.jsonl"))
            if not files:
                raise SourceError(f"expected *.jsonl frames files under {path}, found none")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise SourceError(f"no such recording file or directory: {path}")
    return found


def read_frames(
    paths: Iterable[Path],
    stats: SourceStats,
    from_ns: int | None = None,
    to_ns: int | None = None,
) -> Generator[Frame, None, None]:
    """Every book and trade frame of the recording in venue-time order, within [from, to)."""
    files = recording_files(paths)
    readers = [_file_frames(path, stats) for path in files]
    streams = [_keyed(reader, index) for index, reader in enumerate(readers)]
    try:
        for _key, frame in heapq.merge(*streams):
            if from_ns is not None and frame.ts_ns < from_ns:
                continue
            if to_ns is not None and frame.ts_ns >= to_ns:
                continue
            stats.frames += 1
            yield frame
    finally:
        for reader in readers:  # a run stopped early closes its files now, not at collection
            reader.close()


def _keyed(frames: Iterator[Frame], index: int) -> Iterator[tuple[tuple[int, int, int], Frame]]:
    for line, frame in enumerate(frames):
        yield (frame.ts_ns, index, line), frame


def _file_frames(path: Path, stats: SourceStats) -> Generator[Frame, None, None]:
    with path.open("rb") as lines:
        for raw in lines:
            payload = raw.strip()
            if not payload:
                continue
            frame = parse_frame(payload, stats)
            if frame is not None:
                yield frame


def parse_frame(payload: bytes, stats: SourceStats) -> Frame | None:
    """One line as a Frame, or None (counted) when it is not a usable book or trade message."""
    try:
        message = json.loads(payload)
    except ValueError:
        stats.skip("not_json")
        return None
    if not isinstance(message, dict):
        stats.skip("not_an_object")
        return None
    topic = message.get("topic")
    if not isinstance(topic, str):
        stats.skip("no_topic")
        return None
    if topic.startswith("orderbook."):
        kind = BOOK
    elif topic.startswith("publicTrade."):
        kind = TRADE
    else:
        stats.skip("other_topic")
        return None
    ts = message.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
        stats.skip("no_ts")
        return None
    symbol = topic.rsplit(".", 1)[-1]
    return Frame(ts * _NS_PER_MS, kind, symbol, payload, message)


def count_lines(paths: Iterable[Path]) -> int:
    """Lines in the recording (an upper bound on its frames, for progress), without parsing."""
    total = 0
    for path in recording_files(paths):
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total

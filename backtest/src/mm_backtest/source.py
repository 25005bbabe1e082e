"""Reading recordings for a backtest: the one place that knows where recorded frames come from.

Recordings are what `services/recorder` writes (`<dir>/<venue>/<category>/<symbol>/<YYYY-MM-DD>/
<HH>.jsonl.zst`, each line a venue frame with its receive time) or plain `.jsonl` files of venue
frames (the simulator's replay format; the venue's `ts` stands in for the receive time). They
are read with the recorder's reader (`recorder.read`): frames of every file in receive-time
order. Book (`orderbook.N.SYMBOL`) and trade (`publicTrade.SYMBOL`) frames become `Frame`s; other
topics, the recorder's gap and malformed lines, and lines the reader cannot use (a truncated
tail after a crash, garbage) are counted in `SourceStats` and skipped, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

import recorder

BOOK = "book"
TRADE = "trade"
_SUFFIXES = ("*.jsonl", "*.jsonl.zst")


class SourceError(ValueError):
    """A recording that cannot be read at all (no such file, no frames files in a directory)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One recorded public message: when we received it, what it is, and its raw bytes."""

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

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count


def recording_files(paths: Iterable[Path]) -> list[Path]:
    """The frames files named, directories searched for recorder files, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(f for pattern in _SUFFIXES for f in path.rglob(pattern))
            if not files:
                raise SourceError(f"expected *.jsonl or *.jsonl.zst files under {path}, found none")
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
    """Every book and trade frame of the recording in receive-time order, within [from, to)."""
    files = recording_files(paths)
    read_stats = recorder.ReadStats()
    frames = recorder.read(files, start_ns=from_ns, end_ns=to_ns, stats=read_stats)
    try:
        for recorded in frames:
            if recorded.kind is not recorder.Kind.VENUE:
                stats.skip(recorded.kind.value)
                continue
            frame = parse_frame(recorded.raw, stats, recorded.ts_recv_ns)
            if frame is not None:
                stats.frames += 1
                yield frame
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()  # a run stopped early closes its files now, not at collection
        if read_stats.bad_lines:
            stats.skip("unreadable_line", read_stats.bad_lines)
        if read_stats.truncated_lines:
            stats.skip("truncated_line", read_stats.truncated_lines)


def parse_frame(payload: bytes, stats: SourceStats, received_ns: int) -> Frame | None:
    """One venue frame as a Frame, or None (counted) when it is not a book or trade message."""
    try:
        message = _decode(payload)
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
    return Frame(received_ns, kind, topic.rsplit(".", 1)[-1], payload, message)


def _decode(payload: bytes) -> Any:
    """`json.loads`: the same values, decoded by msgspec where it can (several times faster);
    what msgspec refuses (NaN, an overflowing float, an encoded surrogate, a BOM, bad JSON) goes
    to `json.loads`, which decides, as it always did."""
    try:
        return msgspec.json.decode(payload)
    except (msgspec.MsgspecError, ValueError):  # UnicodeDecodeError is a ValueError
        return json.loads(payload)


def count_lines(paths: Iterable[Path]) -> int:
    """Lines in the plain files of the recording (for progress; compressed ones count 0)."""
    total = 0
    for path in recording_files(paths):
        if path.suffix != ".jsonl":
            continue
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total

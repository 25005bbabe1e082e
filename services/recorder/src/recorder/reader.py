"""`read(...)`: recorded frames in receive-time order across files and symbols.

A recording is a directory laid out `<venue>/<category>/<symbol>/<YYYY-MM-DD>/<HH>.jsonl.zst`
(`recorder.layout`). Each symbol's files are read hour after hour and the symbols are merged by
receive time (ties keep symbol order, then file order), one line in memory per symbol. Damaged
input never raises: an unfinished last line, a damaged zstd frame or a line not in the recorded
format is skipped and counted in `ReadStats`.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from recorder import layout
from recorder.lines import Kind, LineError, Parsed, parse_line
from recorder.zstd_lines import TailStats, read_lines

_log = logging.getLogger("recorder.reader")


class Frame(msgspec.Struct, frozen=True):
    """One recorded line: when it arrived, where it belongs, and the bytes as received."""

    ts_recv_ns: int
    venue: str
    category: str
    symbol: str
    kind: Kind
    raw: bytes  # VENUE: the venue's frame; MALFORMED: the bytes received; BUS: msgpack
    reason: str = ""  # GAP and MALFORMED: why
    subject: str = ""  # BUS: the subject

    def message(self) -> dict[str, object]:
        """The venue frame decoded (VENUE lines only)."""
        if self.kind is not Kind.VENUE:
            raise ValueError(f"only venue frames decode to a message, this is {self.kind.value}")
        decoded = msgspec.json.decode(self.raw)
        if not isinstance(decoded, dict):
            raise ValueError(f"expected a JSON object, got {type(decoded).__name__}")
        return decoded


@dataclass
class ReadStats:
    """What a read passed over; all zero for an intact recording."""

    files: int = 0
    frames: int = 0
    bad_lines: int = 0
    tail: TailStats = field(default_factory=TailStats)

    @property
    def truncated_lines(self) -> int:
        return self.tail.truncated_lines

    @property
    def corrupt_files(self) -> int:
        return self.tail.corrupt_files


_TOPIC = msgspec.json.Decoder(dict[str, msgspec.Raw])


def read(
    source: str | Path | Iterable[str | Path],
    *,
    symbols: Iterable[str] | None = None,
    venue: str | None = None,
    category: str | None = None,
    kinds: Iterable[Kind | str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Frame]:
    """Stream the frames of a recording directory (or of the given files) by receive time.

    `symbols`, `venue`, `category` select files; `kinds` selects lines (default: every kind);
    `start_ns <= ts_recv_ns < end_ns` selects the window. Files outside the layout (a plain
    `.jsonl` of venue frames, as `MM_SIM_REPLAY_FILE` takes) are read too when named directly.
    """
    stats = stats if stats is not None else ReadStats()
    wanted = frozenset(Kind(kind) for kind in kinds) if kinds is not None else frozenset(Kind)
    selected = frozenset(symbols) if symbols is not None else None
    chosen = layout.find(source, symbols=selected, venue=venue, category=category)
    streams = []
    for order, (key, paths) in enumerate(sorted(chosen.items())):
        paths = [p for p in paths if layout.may_overlap(p, start_ns, end_ns)]
        stream = _symbol_frames(key, paths, wanted, (start_ns, end_ns), selected, stats)
        streams.append(_keyed(order, stream))
    for _ts, _order, _n, frame in heapq.merge(*streams):
        stats.frames += 1
        yield frame


def _keyed(order: int, frames: Iterator[Frame]) -> Iterator[tuple[int, int, int, Frame]]:
    """Merge keys that never tie: receive time, then symbol order, then position in the file."""
    for position, frame in enumerate(frames):
        yield frame.ts_recv_ns, order, position, frame


def _symbol_frames(
    key: layout.SymbolKey,
    paths: list[Path],
    wanted: frozenset[Kind],
    window: tuple[int | None, int | None],
    symbols: frozenset[str] | None,
    stats: ReadStats,
) -> Iterator[Frame]:
    start_ns, end_ns = window
    lines = itertools.chain.from_iterable(_counted(path, stats) for path in paths)
    foreign = key == layout.FOREIGN
    for line in lines:
        try:
            parsed = _foreign_line(line) if foreign else parse_line(line)
        except LineError as error:
            stats.bad_lines += 1
            _log.warning("skipped a line not in the recorded format", extra={"error": str(error)})
            continue
        if foreign:
            key = _foreign_key(parsed.raw)
            if symbols is not None and key.symbol not in symbols:
                continue
        if parsed.kind not in wanted:
            continue
        if start_ns is not None and parsed.ts_recv_ns < start_ns:
            continue
        if end_ns is not None and parsed.ts_recv_ns >= end_ns:
            return
        yield Frame(
            parsed.ts_recv_ns,
            key.venue,
            key.category,
            key.symbol,
            parsed.kind,
            parsed.raw,
            parsed.reason,
            parsed.subject,
        )


class _Head(msgspec.Struct):
    topic: str = ""
    ts: int = 0


_HEAD = msgspec.json.Decoder(_Head)


def _foreign_line(line: bytes) -> Parsed:
    """A plain venue frame (no receive time recorded): the venue's `ts` (ms) stands in."""
    try:
        head = _HEAD.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise LineError(f"expected a JSON venue frame, got {line[:60]!r}: {error}") from None
    if not head.topic:
        raise LineError(f"expected a venue frame with a topic, got {line[:60]!r}")
    return Parsed(head.ts * 1_000_000, Kind.VENUE, line)


def _foreign_key(frame: bytes) -> layout.SymbolKey:
    return layout.SymbolKey("", "", _HEAD.decode(frame).topic.rsplit(".", 1)[-1])


def _counted(path: Path, stats: ReadStats) -> Iterator[bytes]:
    stats.files += 1
    return read_lines(path, stats.tail)

"""Lines in and out of one recorded file: a sequence of complete zstd frames, one per flush.

Every flush of the writer appends one complete zstd frame holding whole lines, so a file is a
concatenation of frames (which any zstd tool decodes as one stream). A process killed mid-write
leaves at most one incomplete frame at the end: reading yields what of it decodes and skips the
last, unfinished line (counted in `TailStats`), never raising. `repair` makes such a file safe
to append to again: it cuts the incomplete frame and writes back the whole lines it held.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard

_log = logging.getLogger("recorder.files")
_CHUNK = 1 << 20


@dataclass
class TailStats:
    """What reading skipped: unfinished last lines and undecodable frames."""

    truncated_lines: int = 0
    corrupt_files: int = 0


def _chunks(data_source: Path) -> Iterator[bytes]:
    with data_source.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _decompressed(path: Path, stats: TailStats, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompressed bytes of every frame; stops quietly at an incomplete or damaged tail."""
    decompressor = zstandard.ZstdDecompressor()
    current = decompressor.decompressobj()
    try:
        for chunk in chunks:
            while chunk:
                yield current.decompress(chunk)
                if not current.eof:
                    break
                chunk = current.unused_data
                current = decompressor.decompressobj()
    except zstandard.ZstdError as error:
        stats.corrupt_files += 1
        _log.warning(
            "damaged zstd frame; rest of file skipped",
            extra={"path": str(path), "error": str(error)},
        )


def read_lines(path: Path, stats: TailStats | None = None) -> Iterator[bytes]:
    """Every complete line of a recorded file (`.jsonl.zst`, or plain `.jsonl`), without `\\n`."""
    stats = stats if stats is not None else TailStats()
    if path.name.endswith(".zst"):
        yield from _lines(path, _decompressed(path, stats, _chunks(path)), stats)
    else:
        yield from _lines(path, _chunks(path), stats)


def _lines(path: Path, source: Iterable[bytes], stats: TailStats) -> Iterator[bytes]:
    partial = b""
    for block in source:
        if not block:
            continue
        lines = (partial + block).split(b"\n")
        partial = lines.pop()
        # Recorded lines never hold a CR; a plain file from elsewhere may end its lines with one.
        yield from (line.removesuffix(b"\r") for line in lines if line)
    if partial:
        stats.truncated_lines += 1
        _log.warning(
            "unfinished last line skipped", extra={"path": str(path), "bytes": len(partial)}
        )


def complete_frames_end(path: Path) -> int:
    """The byte offset where the last complete zstd frame of the file ends (read in chunks)."""
    decompressor = zstandard.ZstdDecompressor()
    frame = decompressor.decompressobj()
    position = 0  # bytes of the file consumed before `chunk`
    end = 0
    try:
        for data in _chunks(path):
            chunk = data
            while chunk:
                frame.decompress(chunk)
                if not frame.eof:
                    position += len(chunk)
                    break
                rest = frame.unused_data
                end = position + len(chunk) - len(rest)
                position = end
                chunk = rest
                frame = decompressor.decompressobj()
    except zstandard.ZstdError:
        pass  # a damaged frame: the file's good part ends where the last whole frame did
    return end


@dataclass(frozen=True)
class Repair:
    """What `repair` did: bytes cut from the end, whole lines written back."""

    cut_bytes: int = 0
    salvaged_lines: int = 0


def repair(path: Path) -> Repair:
    """Cut an incomplete or damaged tail and re-append the whole lines it held."""
    size = path.stat().st_size
    end = complete_frames_end(path)
    if end == size:
        return Repair()
    with path.open("rb") as handle:
        handle.seek(end)
        tail = handle.read()
    stats = TailStats()
    salvaged = list(_lines(path, _decompressed(path, stats, [tail]), stats))
    with path.open("r+b") as handle:
        handle.truncate(end)
        if salvaged:
            handle.seek(end)
            handle.write(zstandard.ZstdCompressor().compress(b"\n".join(salvaged) + b"\n"))
        handle.flush()
        os.fsync(handle.fileno())
    _log.warning(
        "repaired the tail of a recorded file",
        extra={"path": str(path), "cut_bytes": size - end, "salvaged_lines": len(salvaged)},
    )
    return Repair(size - end, len(salvaged))

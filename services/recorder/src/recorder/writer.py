"""Appending lines to the hourly files: one open file per symbol, flushed as whole zstd frames.

`add` only buffers; `flush` compresses each symbol's pending lines into one complete zstd frame
and appends it with `os.write`, so after a SIGKILL the file holds every flushed frame and at most
one unfinished one (which `zstd_lines.repair` cuts when the file is opened again). A line whose
receive time falls in a later hour closes the current file first: flushed, fsynced, closed (and
its directory fsynced). A failed write (disk full) truncates the file back to where the frame
began and keeps the lines pending; beyond `max_pending_bytes` they are dropped and a gap line
saying how many takes their place.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from recorder import layout
from recorder.lines import gap_line
from recorder.zstd_lines import repair

_log = logging.getLogger("recorder.writer")


@dataclass
class WriterCounts:
    """What the writer did, for the metrics."""

    lines: int = 0
    bytes_written: int = 0
    files_closed: int = 0
    write_errors: int = 0
    lines_dropped: int = 0
    repaired_files: int = 0


@dataclass
class _Open:
    path: Path
    hour_ns: int
    fd: int
    pending: list[bytes] = field(default_factory=list)
    pending_bytes: int = 0
    dropped: int = 0  # lines dropped since the last gap line
    dropped_ts: int = 0


class HourlyWriter:
    """The open hourly file of each symbol and the lines waiting to be flushed into it."""

    def __init__(self, root: Path, *, level: int = 3, max_pending_bytes: int = 64 << 20) -> None:
        self.root = root
        self.max_pending_bytes = max_pending_bytes
        self.counts = WriterCounts()
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._files: dict[layout.SymbolKey, _Open] = {}
        self._lost: dict[layout.SymbolKey, tuple[int, int]] = {}  # lines, last ts: no file opened
        self._last_ts = 0

    @property
    def open_paths(self) -> frozenset[Path]:
        return frozenset(entry.path for entry in self._files.values())

    @property
    def pending_bytes(self) -> int:
        return sum(entry.pending_bytes for entry in self._files.values())

    def stamp(self, ts_ns: int) -> int:
        """A receive time never earlier than the last one (the wall clock may step back)."""
        self._last_ts = max(self._last_ts, ts_ns)
        return self._last_ts

    def add(self, key: layout.SymbolKey, ts_ns: int, line: bytes) -> None:
        """Queue one line for the symbol's file of the hour of `ts_ns`."""
        entry = self._files.get(key)
        if entry is not None and entry.hour_ns != layout.hour_start_ns(ts_ns):
            self._close(key, entry)
            entry = None
        if entry is None:
            entry = self._open_or_count(key, ts_ns)
            if entry is None:
                return
        if entry.pending_bytes + len(line) > self.max_pending_bytes:
            entry.dropped += 1
            entry.dropped_ts = ts_ns
            self.counts.lines_dropped += 1
            return
        self._note_drops(entry)
        entry.pending.append(line)
        entry.pending_bytes += len(line)

    @staticmethod
    def _note_drops(entry: _Open) -> None:
        """Put the gap line of the lines dropped since the last one where they were lost."""
        if entry.dropped:
            reason = f"write failed: dropped {entry.dropped} lines before this"
            gap = gap_line(entry.dropped_ts, reason)
            entry.pending.append(gap)
            entry.pending_bytes += len(gap)
            entry.dropped = 0

    def flush(self) -> None:
        """Append every symbol's pending lines to its file as one zstd frame each."""
        for entry in self._files.values():
            self._flush(entry)

    def close_before(self, now_ns: int) -> None:
        """Close the files of hours that ended before the hour of `now_ns`."""
        current = layout.hour_start_ns(now_ns)
        for key, entry in list(self._files.items()):
            if entry.hour_ns < current:
                self._close(key, entry)

    def close(self) -> None:
        """Flush, fsync and close every open file."""
        for key, entry in list(self._files.items()):
            self._close(key, entry)

    def _open_or_count(self, key: layout.SymbolKey, ts_ns: int) -> _Open | None:
        """The symbol's file for `ts_ns`; None (the line counted as dropped) when the OS refuses.

        Lines lost that way are noted as one gap line once a file opens again."""
        try:
            entry = self._open(key, ts_ns)
        except OSError as error:
            lost, _ = self._lost.get(key, (0, 0))
            self._lost[key] = (lost + 1, ts_ns)
            self.counts.lines_dropped += 1
            self.counts.write_errors += 1
            if lost == 0:
                _log.error("cannot open a recording file", extra={"error": str(error)})
            return None
        entry.dropped, entry.dropped_ts = self._lost.pop(key, (0, 0))
        return entry

    def _open(self, key: layout.SymbolKey, ts_ns: int) -> _Open:
        path = layout.path_for(self.root, key, ts_ns)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written before: by an earlier run that may have been killed mid-frame.
        if path.exists() and path.stat().st_size > 0 and repair(path).cut_bytes:
            self.counts.repaired_files += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        entry = _Open(path, layout.hour_start_ns(ts_ns), fd)
        self._files[key] = entry
        return entry

    def _flush(self, entry: _Open) -> bool:
        if not entry.pending and not entry.dropped:
            return True
        lines = list(entry.pending)
        if entry.dropped:  # the drops came after every pending line
            reason = f"write failed: dropped {entry.dropped} lines before this"
            lines.append(gap_line(entry.dropped_ts, reason))
        frame = self._compressor.compress(b"".join(lines))
        if not self._append(entry, frame):
            return False
        self.counts.lines += len(lines)
        self.counts.bytes_written += len(frame)
        entry.pending.clear()
        entry.pending_bytes = 0
        entry.dropped = 0
        return True

    def _append(self, entry: _Open, frame: bytes) -> bool:
        start = os.lseek(entry.fd, 0, os.SEEK_END)
        try:
            view = memoryview(frame)
            while view:
                view = view[os.write(entry.fd, view) :]
        except OSError as error:
            self.counts.write_errors += 1
            os.ftruncate(entry.fd, start)  # never leave half a frame for later frames to follow
            _log.error(
                "write failed; lines kept pending",
                extra={"path": str(entry.path), "error": str(error), "pending": len(entry.pending)},
            )
            return False
        return True

    def _close(self, key: layout.SymbolKey, entry: _Open) -> None:
        if not self._flush(entry):
            self.counts.lines_dropped += len(entry.pending) + entry.dropped
            _log.error("closing with unwritten lines", extra={"path": str(entry.path)})
        del self._files[key]
        try:
            os.fsync(entry.fd)
            directory = os.open(entry.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            self.counts.write_errors += 1
            _log.error("fsync failed", extra={"path": str(entry.path), "error": str(error)})
        finally:
            self._close_fd(entry)
        self.counts.files_closed += 1

    def _close_fd(self, entry: _Open) -> None:
        try:
            os.close(entry.fd)
        except OSError as error:  # the kernel reports a late write error here on some filesystems
            self.counts.write_errors += 1
            _log.error("close failed", extra={"path": str(entry.path), "error": str(error)})

"""The disk budget: the recording directory's size, kept under a limit by deleting oldest hours.

Files are deleted oldest hour first (across every symbol), never one still open for writing;
emptied date and symbol directories go with them. When the open files alone exceed the budget
nothing more can be deleted: that is reported (`over`) and recording goes on, since the newest
data is the last a recorder should give up.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from recorder.layout import recorded_files

_log = logging.getLogger("recorder.budget")


@dataclass(frozen=True)
class Sweep:
    """One pass over the directory."""

    size_bytes: int  # after deleting
    deleted: tuple[Path, ...]
    over: bool  # still over the budget with only open files left


def enforce(root: Path, budget_bytes: int, open_paths: Collection[Path]) -> Sweep:
    """Delete the oldest closed files until the directory fits in `budget_bytes` (0: no limit)."""
    files = recorded_files(root) if root.exists() else []
    sizes = {path: _size(path) for path in files}
    total = sum(sizes.values())
    deleted: list[Path] = []
    if budget_bytes > 0:
        for path in files:
            if total <= budget_bytes:
                break
            if path in open_paths:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= sizes[path]
            deleted.append(path)
            _prune(path.parent, root)
    if deleted:
        _log.warning(
            "deleted the oldest recorded files to keep within the disk budget",
            extra={"files": len(deleted), "budget_bytes": budget_bytes, "size_bytes": total},
        )
    return Sweep(total, tuple(deleted), budget_bytes > 0 and total > budget_bytes)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _prune(directory: Path, root: Path) -> None:
    """Remove emptied directories up to (not including) the root."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent

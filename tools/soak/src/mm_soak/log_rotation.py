"""Keeps the stack's log files bounded by copy-and-truncate rotation.

The supervisor hands each child a log file opened for appending (O_APPEND), so truncating it in
place is safe: the child's next write lands at the new end. A file over `max_bytes` is copied to
`<name>.1` (older copies shift up, the oldest beyond `keep` is deleted) and truncated to zero.
Lines written between the copy and the truncate are lost; at these sizes that is a few lines a
rotation, the usual trade-off of copytruncate.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def rotate_logs(log_dir: Path, max_bytes: int, keep: int = 2) -> list[Path]:
    """Rotate every `*.log` in `log_dir` larger than `max_bytes`; returns the rotated files."""
    rotated = []
    for path in sorted(log_dir.glob("*.log")):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size <= max_bytes:
            continue
        for index in range(keep, 0, -1):
            older = path.with_name(f"{path.name}.{index}")
            if index == keep:
                older.unlink(missing_ok=True)
            elif older.exists():
                older.rename(path.with_name(f"{path.name}.{index + 1}"))
        shutil.copyfile(path, path.with_name(f"{path.name}.1"))
        with path.open("r+b") as handle:
            handle.truncate(0)
        rotated.append(path)
    return rotated

"""The secret canary's search: which files under a run directory hold a given secret's bytes."""

from __future__ import annotations

from pathlib import Path


def canary_hits(root: Path, canary: bytes, skip: Path | None = None) -> list[str]:
    """Every file under `root` (except under `skip`) holding `canary`, relative to `root`."""
    found = []
    for path in sorted(root.rglob("*")):
        if skip is not None and skip in path.parents:
            continue
        if path.is_file() and canary in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found

"""An older revision's source tree beside the working one, for before/after benches that run
both in the same session (`compare_backtest.py`, `bench_service_cpu.py`)."""

from __future__ import annotations

import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(revision: str, into: Path) -> list[str]:
    """The revision's tree (`git archive`) under `into`; its packages' source directories, to
    put first on a child's PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return sorted(
        str(path) for path in into.glob("**/src") if (path.parent / "pyproject.toml").exists()
    )

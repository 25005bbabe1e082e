"""`mm prelive`'s arguments; light to import (the `mm` parser loads it on every command)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, required=True, help="parameters JSON (as backtest)")
    parser.add_argument("--out", type=Path, required=True, help="the pack's directory")
    parser.add_argument("--quick", action="store_true", help="the short form (about a minute)")
    parser.add_argument("--gate-config", type=Path, default=None, help="TOML with a [gate] table")
    parser.add_argument(
        "--recordings",
        type=Path,
        default=Path("data/recordings/sim-synthetic"),
        help="a recording tree; its newest hour is backtested",
    )
    parser.add_argument("--budget-s", type=float, default=None, help="the pack's time bound")

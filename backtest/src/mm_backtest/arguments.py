"""`mm backtest`'s arguments; light to import (the `mm` parser loads it on every command)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", type=Path, required=True, help="recording dirs/files")
    parser.add_argument("--params", type=Path, required=True, help="parameters JSON (see docs)")
    parser.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="PATH=MS|@FILE",
        help="feed=MS or order=MS (round trip), or PATH=@FILE of measured ms; repeatable",
    )
    parser.add_argument("--queue", choices=("sim", "probabilistic"), default=None)
    parser.add_argument("--from", dest="start", default=None, help="ISO 8601 or Unix seconds")
    parser.add_argument("--to", dest="end", default=None, help="ISO 8601 or Unix seconds")
    parser.add_argument("--out", type=Path, required=True, help="directory for the results")
    parser.add_argument(
        "--sweep", action="append", default=[], metavar="KEY=V1,V2", help="a swept field"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="sweep processes (default: cores)"
    )

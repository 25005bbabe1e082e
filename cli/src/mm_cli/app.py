"""The `mm` command line: one entry point, a subcommand per job, `--help` everywhere."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mm_cli import run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mm", description="Run and operate the Bybit market maker."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="start the local stack (NATS, simulator, four services) and show it",
        description="Start nats-server, the exchange simulator and the four services as "
        "supervised processes; Ctrl-C stops everything.",
    )
    run.add_argument("--run-dir", type=Path, default=Path(".run"), help="state and logs (default .run)")
    run.add_argument("--base-port", type=int, default=14220, help="first of the stack's ports")
    run.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated symbols")
    run.add_argument("--headless", action="store_true", help="no live view; log lines only")
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "run":
        symbols = [symbol.strip() for symbol in arguments.symbols.split(",") if symbol.strip()]
        sys.exit(
            run_command.run(
                arguments.run_dir, arguments.base_port, symbols, arguments.headless, arguments.duration
            )
        )

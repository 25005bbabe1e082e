"""The `mm` command line: one entry point, a subcommand per job, `--help` everywhere."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mm_cli import run_command, tail_command
from mm_cli.local_stack import StackLayout

DEFAULT_NATS_URL = StackLayout(run_dir=Path(".run")).nats_url


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
    run.add_argument(
        "--run-dir", type=Path, default=Path(".run"), help="state and logs (default .run)"
    )
    run.add_argument("--base-port", type=int, default=14220, help="first of the stack's ports")
    run.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated symbols")
    run.add_argument("--headless", action="store_true", help="no live view; log lines only")
    run.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    tail = commands.add_parser(
        "tail",
        help="print messages on a subject as JSON lines",
        description="Subscribe to a subject or pattern (md.book.>, exec.fill.bybit.linear.*) and "
        "print each message decoded, one JSON object per line.",
    )
    tail.add_argument("subject", help="subject or pattern, e.g. md.book.>")
    tail.add_argument(
        "--nats", default=DEFAULT_NATS_URL, help=f"NATS URL (default {DEFAULT_NATS_URL})"
    )
    tail.add_argument("--count", type=int, default=None, help="exit after this many messages")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "run":
        symbols = [symbol.strip() for symbol in arguments.symbols.split(",") if symbol.strip()]
        sys.exit(
            run_command.run(
                arguments.run_dir,
                arguments.base_port,
                symbols,
                arguments.headless,
                arguments.duration,
            )
        )
    if arguments.command == "tail":
        try:
            pattern = tail_command.check_pattern(arguments.subject)
        except ValueError as error:
            sys.exit(f"mm tail: {error}")
        sys.exit(asyncio.run(tail_command.tail(arguments.nats, pattern, arguments.count)))

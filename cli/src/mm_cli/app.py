"""The `mm` command line: one entry point, a subcommand per job, `--help` everywhere."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from mm_backtest import arguments as backtest_arguments
from mm_cli import (
    gate_command,
    gate_thresholds,
    operator,
    policy_command,
    prelive_arguments,
    report_command,
    report_weekly,
    report_window,
    rollout_command,
    run_command,
    tail_command,
)
from mm_cli.bus_connect import BusUnreachableError
from mm_cli.local_stack import PORT_BLOCK, StackLayout
from mm_runtime.nats_cluster import CLUSTER_SIZES

DEFAULT_RUN_DIR = Path(".run")
DEFAULT_NATS_URL = StackLayout(run_dir=DEFAULT_RUN_DIR).nats_url


def _bus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nats", default=DEFAULT_NATS_URL, help=f"NATS URL (default {DEFAULT_NATS_URL})"
    )
    parser.add_argument(
        "--bus-dir",
        type=Path,
        default=DEFAULT_RUN_DIR / "bus",
        help="directory with the operator's bus credentials (default .run/bus)",
    )


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more messages, found {count}")
    return count


def _reason(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a reason (it is kept with the halt state)")
    return text.strip()


def _base_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, found {text!r}") from None
    highest = 65_535 - (PORT_BLOCK - 1)
    if not 1 <= port <= highest:
        raise argparse.ArgumentTypeError(
            f"{port} is not a base port: the stack takes {PORT_BLOCK} ports from it, so it must "
            f"be 1..{highest}"
        )
    return port


def _symbols(text: str) -> list[str]:
    symbols = [symbol.strip() for symbol in text.split(",") if symbol.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError("expected at least one symbol, e.g. BTCUSDT,ETHUSDT")
    odd = [symbol for symbol in symbols if not symbol.isalnum() or symbol != symbol.upper()]
    if odd:
        raise argparse.ArgumentTypeError(
            f"expected venue symbols in capitals and digits (BTCUSDT), found {odd}"
        )
    if len(set(symbols)) != len(symbols):
        raise argparse.ArgumentTypeError(f"a symbol is named twice in {symbols}")
    return symbols


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, found {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, found {text}")
    return seconds


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="start the local stack (NATS, simulator, every service) and show it",
        description="Start nats-server, the exchange simulator and every registered service as "
        "supervised processes; Ctrl-C stops everything.",
    )
    run.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="state and logs")
    run.add_argument(
        "--base-port",
        type=_base_port,
        default=14220,
        help=f"first of the stack's {PORT_BLOCK} consecutive ports",
    )
    run.add_argument(
        "--symbols", type=_symbols, default="BTCUSDT,ETHUSDT", help="comma-separated symbols"
    )
    run.add_argument("--headless", action="store_true", help="no live view; log lines only")
    run.add_argument("--duration", type=_seconds, default=None, help="stop after this many seconds")
    run.add_argument(
        "--nats-cluster",
        type=int,
        choices=CLUSTER_SIZES,
        default=1,
        help="NATS nodes: 1 server, or a 3-node JetStream cluster keeping every stream on all",
    )
    run.add_argument(
        "--shards",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: two executor replicas in lease mode, each owning half the symbols and taking "
        "over the other's when its lease expires",
    )
    run.add_argument(
        "--monitoring",
        action="store_true",
        help="also run Prometheus (base port+8) and Alertmanager (+9) with the shipped rules",
    )


def _add_operator_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser("status", help="every service's status over the bus")
    _bus_options(status)
    for verb, what in (
        ("halt", "halt trading: cancel all orders, block new ones"),
        ("resume", "resume trading after a halt"),
    ):
        command = commands.add_parser(verb, help=what, description=what)
        command.add_argument(
            "--reason", type=_reason, required=True, help="why (kept with the halt state)"
        )
        _bus_options(command)
    cancel = commands.add_parser("cancel-all", help="cancel every order (or one symbol's)")
    cancel.add_argument("--symbol", default="", help="only this symbol")
    _bus_options(cancel)
    what = "reduce a symbol's position to zero through risk (reduce-only; allowed while halted)"
    flatten = commands.add_parser("flatten", help=what, description=what)
    flatten.add_argument("symbol", help="the symbol to flatten, e.g. BTCUSDT")
    flatten.add_argument(
        "--max-slippage-bps",
        type=int,
        default=0,
        help="0 (default): post-only at the touch; N: IOC priced at most N bps through the mid",
    )
    _bus_options(flatten)
    config = commands.add_parser(
        "config",
        help="read or change live parameters (validated by the owning service)",
        description="Keys are <service>.<scope>, e.g. quoter.BTCUSDT, risk.default or "
        "executor.default; values are JSON objects of that service's parameters. Each parameter "
        "has bounds and a largest step per change; a refusal says which and why.",
    )
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = actions.add_parser("get", help="show a key (or every key of a service)")
    get.add_argument("key")
    _bus_options(get)
    put = actions.add_parser("set", help="validate and store a key's JSON value")
    put.add_argument("key")
    put.add_argument("value", help="JSON object, e.g. '{\"min_spread_bps\": 1.5}'")
    _bus_options(put)
    unset = actions.add_parser("unset", help="remove a key (the default or settings beneath apply)")
    unset.add_argument("key")
    _bus_options(unset)
    tail = commands.add_parser(
        "tail",
        help="print messages on a subject as JSON lines",
        description="Subscribe to a subject or pattern (md.book.>, exec.fill.bybit.linear.*) and "
        "print each message decoded, one JSON object per line.",
    )
    tail.add_argument("subject", help="subject or pattern, e.g. md.book.>")
    tail.add_argument("--count", type=_count, default=None, help="exit after this many messages")
    _bus_options(tail)
    _add_report(commands)
    _add_gate(commands)
    rollout_command.add_parser(commands, _bus_options)


def _add_gate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gate = commands.add_parser(
        "gate",
        help="the KPI gate: each threshold's check over a window or a backtest report",
        description="Judge the ledger's KPIs over a window (stream KPI, as mm report reads it) "
        "or a backtest's report.json against the thresholds of a [gate] TOML table "
        "(docs/going-live.md). Exit 0 PASS, 1 FAIL, 2 too little data.",
    )
    gate.add_argument("--since", default=None, help="window ending now, e.g. 1h, 24h (default 24h)")
    gate.add_argument("--from", dest="start", default=None, help="ISO 8601 or Unix seconds")
    gate.add_argument("--to", dest="end", default=None, help="ISO 8601 or Unix seconds")
    gate.add_argument("--report", type=Path, default=None, help="a backtest's report.json")
    gate.add_argument("--color", default=None, help="only this color's snapshots, e.g. green")
    gate.add_argument("--config", type=Path, default=None, help="TOML file with a [gate] table")
    gate.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="a stopped stack's state: its KPI stream is read from here (default .run)",
    )
    _bus_options(gate)


def _add_report(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="the ledger's PnL attribution, markouts and quoting KPIs over a window",
        description="Read the ledger's KPI snapshots (stream KPI; works on a stopped stack's bus "
        "too) and print PnL attribution, markouts and quoting KPIs. Default window: the last hour.",
    )
    report.add_argument("--since", default=None, help="window ending now, e.g. 10m, 1h, 7d")
    report.add_argument("--from", dest="start", default=None, help="ISO 8601 or Unix seconds")
    report.add_argument("--to", dest="end", default=None, help="ISO 8601 or Unix seconds")
    report.add_argument("--symbol", default=None, help="only this symbol")
    report.add_argument("--json", action="store_true", help="one JSON document (stable keys)")
    report.add_argument("--html", type=Path, default=None, help="write a page with plots")
    report.add_argument(
        "--weekly",
        action="store_true",
        help="per UTC day and symbol over the last 7 days (or --from/--to), with gate verdicts",
    )
    report.add_argument(
        "--file", type=Path, default=None, help="with --weekly: a weekly file the ledger wrote"
    )
    report.add_argument(
        "--gate-config", type=Path, default=None, help="with --weekly: TOML with a [gate] table"
    )
    report.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="a stopped stack's state: its KPI stream is read from here (default .run)",
    )
    _bus_options(report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mm", description="Run and operate the Bybit market maker."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_operator_commands(commands)
    policy = commands.add_parser(
        "policy", help="the slow loop: its state, and a symbol's decisions in words"
    )
    policy_command.add_arguments(policy, _bus_options)
    commands.add_parser("sim", help="run the exchange simulator alone (settings: MM_SIM_*)")
    commands.add_parser("bench", help="run the benchmarks and print their tables")
    backtest = commands.add_parser(
        "backtest",
        help="replay a recording through the strategy, risk, planner and matching; or a sweep",
        description="Replay recorded frames on a virtual clock through the production cores "
        "and the simulator's matching; writes report.json, fills.jsonl and report.html "
        "(see docs/backtesting.md).",
    )
    backtest_arguments.add_arguments(backtest)
    prelive = commands.add_parser(
        "prelive",
        help="the pre-live pack: validate, backtest, rehearse on the simulator, gate; GO/NO-GO",
        description="Validate a parameter set, backtest it on the newest recording, run the "
        "whole stack on the simulator with chaos drills, audit the venue, search for a canary "
        "secret, and gate both runs; writes DIR/pack.json and DIR/index.html "
        "(docs/going-live.md). Exit 0 GO, 1 NO-GO, 2 the pack could not be written.",
    )
    prelive_arguments.add_arguments(prelive)
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = build_parser().parse_args(argv)
    command = arguments.command
    if command == "run":
        sys.exit(
            run_command.run(
                arguments.run_dir,
                arguments.base_port,
                arguments.symbols,
                arguments.headless,
                arguments.duration,
                arguments.nats_cluster,
                arguments.monitoring,
                arguments.shards,
            )
        )
    if command == "sim":
        os.execv(sys.executable, [sys.executable, "-m", "mm_sim"])  # noqa: S606
    if command == "bench":
        sys.exit(_bench())
    if command == "backtest":
        # Imported here: the cores and matplotlib take a while to load; only this needs them.
        from mm_backtest import cli as backtest_cli
        from mm_cli.report_html import write_page

        sys.exit(backtest_cli.run(arguments, write_page))
    if command == "tail":
        try:
            pattern = tail_command.check_pattern(arguments.subject)
        except ValueError as error:
            sys.exit(f"mm tail: {error}")
        options = operator.connection_options(arguments.bus_dir)
        sys.exit(
            _on_the_bus(
                command, tail_command.tail(arguments.nats, pattern, arguments.count, options)
            )
        )
    if command == "report":
        sys.exit(_report(arguments))
    if command == "gate":
        sys.exit(_gate(arguments))
    if command == "prelive":
        # Imported here: the backtest's cores and matplotlib take a while to load.
        from mm_cli import prelive_command

        sys.exit(prelive_command.run_prelive(arguments))
    if command == "policy":
        sys.exit(_on_the_bus(command, policy_command.run(arguments)))
    if command == "rollout":
        options = operator.connection_options(arguments.bus_dir)
        sys.exit(_on_the_bus(command, rollout_command.main(arguments, options)))
    sys.exit(_on_the_bus(command, _operate(command, arguments)))


def _report(arguments: argparse.Namespace) -> int:
    """`mm report` (or `--weekly`): window and options checked before any I/O."""
    try:
        if arguments.weekly and (arguments.since, arguments.start) == (None, None):
            window = report_weekly.last_week()
        else:
            window = report_window.window(arguments.since, arguments.start, arguments.end)
    except report_window.WindowError as error:
        print(f"mm report: {error}", file=sys.stderr)
        return 1
    try:
        if not arguments.weekly and (arguments.file or arguments.gate_config):
            raise ValueError("--file and --gate-config go with --weekly")
        thresholds = gate_thresholds.load(arguments.gate_config)
    except ValueError as error:
        print(f"mm report: {error}", file=sys.stderr)
        return 2
    options = operator.connection_options(arguments.bus_dir)
    if arguments.weekly:
        return report_weekly.run_weekly(arguments, options, window, thresholds)
    return report_command.run_report(arguments, options, window)


def _gate(arguments: argparse.Namespace) -> int:
    """`mm gate`: thresholds and window checked before any I/O; bad ones exit 2."""
    try:
        thresholds = gate_thresholds.load(arguments.config)
        if arguments.report is not None and (arguments.since or arguments.start or arguments.end):
            raise ValueError("give either --report or a window (--since, --from/--to), not both")
        given = (arguments.since, arguments.start, arguments.end)
        since = "24h" if given == (None, None, None) else arguments.since
        window = report_window.window(since, arguments.start, arguments.end)
    except ValueError as error:
        print(f"mm gate: {error}", file=sys.stderr)
        return 2
    options = operator.connection_options(arguments.bus_dir)
    return gate_command.run_gate(arguments, options, thresholds, window)


def _on_the_bus(command: str, work: Coroutine[Any, Any, int]) -> int:
    """Run a command that needs the bus; no bus is exit code 2 with the reason on stderr."""
    try:
        return asyncio.run(work)
    except BusUnreachableError as error:
        print(f"mm {command}: {error}", file=sys.stderr)
        return 2


async def _operate(command: str, arguments: argparse.Namespace) -> int:
    if command == "status":
        replies = await operator.status_of_all(arguments.nats, arguments.bus_dir)
        for service, reply in replies.items():
            if reply is None:
                print(f"{service:<11} DOWN")
                continue
            print(f"{service:<11} {reply.message}")
            for key, value in sorted(reply.data.items()):
                print(f"  {key:<36} {value}")
        return 0 if all(replies.values()) else 1
    try:
        service, verb, request = operator.request_for(command, arguments)
        reply = await operator.ask(arguments.nats, arguments.bus_dir, service, verb, request)
    except (ValueError, operator.ServiceDown) as error:
        print(f"mm {command}: {error}", file=sys.stderr)
        return 2
    print(f"{service}: {reply.message}")
    for key, value in sorted(reply.data.items()):
        print(f"  {key}: {value}")
    return 0 if reply.ok else 1


def _bench() -> int:
    scripts = sorted(Path("bench").glob("bench_*.py"))
    if not scripts:
        print("no bench/bench_*.py here: run mm bench from the repository root", file=sys.stderr)
        return 2
    for script in scripts:
        print(f"== {script}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:  # noqa: S603
            return 1
    return 0

"""`mm gate`: the KPI gate over a window of the ledger's KPI stream or over a backtest report.

The window's snapshots are read as `mm report` reads them (`report_command.read_snapshots`,
from a running bus or a stopped stack's store) and summed by `ledger.report.summarise`, with the
facts no ledger row carries (`gate_facts`: halts, tick-to-order, obligation coverage,
reconciliations); a backtest's `report.json` is that same summary. `gate_checks` judges it
against the thresholds of `gate_thresholds`. Exit 0 PASS, 1 FAIL, 2 too little data or no way to
read the input.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
from rich.console import Console
from rich.table import Table

from ledger.report import summarise
from mm_cli.bus_connect import BusUnreachableError
from mm_cli.gate_checks import FAIL, PASS, Check, Evidence, evaluate, outcome
from mm_cli.gate_facts import StoredFacts, automatic_halts, figures, only_color, read_facts
from mm_cli.gate_thresholds import Thresholds
from mm_cli.report_command import ReportError, read_snapshots, select
from mm_cli.report_window import Window
from mm_cli.stored_bus import served_store
from mm_proto import KpiSnapshot
from mm_runtime.nats_server import NatsServerError

VERDICTS = {0: "PASS", 1: "FAIL", 2: "TOO LITTLE DATA"}
STREAM_ABSENT = "not in this source (see docs/going-live.md)"
NO_FACT = {
    "tick_to_order_p99": "no tick-to-order summary in the window (no sends with a tick time)",
    "obligation_coverage": "no obligation snapshot in the window (obligations off?)",
    "reconciliation": (
        "no reconciliation in the window (the executor reconciles on connecting and every "
        "EXECUTOR_RECONCILIATION_INTERVAL_S, default 300 s)"
    ),
}
_STYLE = {PASS: "green", FAIL: "red"}


class GateInputError(Exception):
    """An input the gate cannot judge, with the reason."""


def from_snapshots(
    snapshots: list[KpiSnapshot],
    window: Window,
    color: str | None,
    halts: int | None = None,
    facts: StoredFacts | None = None,
) -> Evidence:
    """The evidence of the window's snapshots (of one color): summary and traded notional, with
    the window's automatic halts (`gate_facts`; None: unknown) and stored gate facts."""
    chosen = select(snapshots, window, None)
    if color is not None:
        known = sorted({s.color for s in chosen})
        chosen = [s for s in chosen if s.color == color]
        if not chosen:
            raise GateInputError(f"no snapshots of color {color!r} in the window (has {known})")
    notional = sum((Decimal(s.notional) for s in chosen if s.side != "all"), Decimal(0))
    evidence = Evidence(
        summarise(chosen), notional=notional, halts=halts, absent_reason=STREAM_ABSENT
    )
    if facts is None:
        return evidence
    if color is not None:
        facts = only_color(facts, chosen, color)
    found = figures(facts)
    return replace(
        evidence,
        obligation_coverage=found.obligation_coverage,
        tick_to_order_p99_ms=found.tick_to_order_p99_ms,
        reconciliation=found.reconciliation,
        details=found.details,
        unreadable=dict(facts.unreadable),
        absent={**NO_FACT, **facts.absent},
    )


def from_report(path: Path) -> Evidence:
    """The evidence of a backtest's report.json: its summary and its automatic halts."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise GateInputError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GateInputError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("symbols"), dict):
        raise GateInputError(f"{path} is not a report (no 'symbols' object)")
    about = document.get("backtest")
    counts = about.get("counts") if isinstance(about, dict) else None
    halts = None
    if isinstance(counts, dict):
        trips = [n for key, n in counts.items() if key.startswith("halt_")]
        if not all(isinstance(n, int) for n in trips):
            raise GateInputError(f"{path} has a halt count that is not a whole number")
        halts = sum(trips)
    return Evidence(document, halts=halts)


def judge(evidence: Evidence, thresholds: Thresholds, console: Console) -> int:
    """Print every check and the verdict; the exit code."""
    try:
        checks = evaluate(evidence, thresholds)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
        raise GateInputError(f"the report lacks a figure or has a bad one: {error!r}") from None
    code = outcome(checks, thresholds)
    console.print(_table(checks, thresholds))
    console.print(f"gate: {VERDICTS[code]}")
    return code


def _table(checks: list[Check], thresholds: Thresholds) -> Table:
    table = Table(title="KPI gate")
    for column in ("check", "figure", "threshold", "verdict"):
        table.add_column(column)
    for check in checks:
        verdict = check.verdict
        if verdict not in _STYLE and check.name not in thresholds.required:
            verdict += " (not required)"
        style = _STYLE.get(check.verdict, "yellow")
        table.add_row(check.name, check.figure, check.threshold, f"[{style}]{verdict}[/]")
    return table


def run_gate(
    arguments: Any, options: dict[str, Any], thresholds: Thresholds, window: Window
) -> int:
    """`mm gate`'s exit code; reasons for 2 go to stderr."""
    console = Console()
    try:
        if arguments.report is not None:
            if arguments.color is not None:
                raise GateInputError("--color applies to the KPI stream; a report is one run")
            return judge(from_report(arguments.report), thresholds, console)
        snapshots, halts, facts = _read(arguments, options, window)
        evidence = from_snapshots(snapshots, window, arguments.color, halts, facts)
        return judge(evidence, thresholds, console)
    except (GateInputError, ReportError) as error:
        print(f"mm gate: {error}", file=sys.stderr)
        return 2
    except (OSError, nats.errors.Error, NatsServerError, BusUnreachableError) as error:
        print(f"mm gate: cannot read the KPI stream at {arguments.nats}: {error}", file=sys.stderr)
        return 2


async def read_window(
    nats_url: str, options: dict[str, Any], window: Window
) -> tuple[list[KpiSnapshot], int | None]:
    """The window's KPI snapshots and automatic halts from one bus."""
    snapshots = await read_snapshots(nats_url, options, window)
    return snapshots, await automatic_halts(nats_url, options, window)


async def read_gate_window(
    nats_url: str, options: dict[str, Any], window: Window
) -> tuple[list[KpiSnapshot], int | None, StoredFacts]:
    """The window's KPI snapshots, automatic halts and stored gate facts from one bus."""
    snapshots, halts = await read_window(nats_url, options, window)
    return snapshots, halts, await read_facts(nats_url, options, window)


def _read(
    arguments: Any, options: dict[str, Any], window: Window
) -> tuple[list[KpiSnapshot], int | None, StoredFacts]:
    """The snapshots and halts from the running bus, or from a stopped stack's store."""
    try:
        return asyncio.run(read_gate_window(arguments.nats, options, window))
    except BusUnreachableError:
        store = arguments.run_dir / "nats"
        if not store.is_dir():
            raise
    print(f"mm gate: the stack is stopped; reading its KPI stream from {store}", file=sys.stderr)
    with served_store(arguments.run_dir) as url:
        return asyncio.run(read_gate_window(url, options, window))

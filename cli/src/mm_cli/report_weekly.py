"""`mm report --weekly`: per UTC day and per symbol the KPIs, PnL attribution and the day's gate
verdict, over the last seven days (or `--from/--to`), from stream KPI (and RISK for halts); or
the same for a weekly file the ledger wrote (`--file`, `ledger.weekly`; halts unknown there).

The rollup is `ledger.weekly.rollup`; each day with data is judged by `gate_checks` with the
thresholds of `--gate-config` (the gate's defaults without one). Terminal tables, `--json` (the
rollup with a `gate` entry per day) or `--html FILE` (trend plots, `weekly_html`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
from rich.console import Console
from rich.table import Table

from ledger.weekly import DAY_NS, rollup
from mm_cli.bus_connect import BusUnreachableError
from mm_cli.gate_checks import Evidence, evaluate, outcome
from mm_cli.gate_command import STREAM_ABSENT, VERDICTS
from mm_cli.gate_facts import automatic
from mm_cli.gate_thresholds import Thresholds
from mm_cli.report_command import ReportError, read_snapshots, read_stored
from mm_cli.report_window import Window
from mm_cli.stored_bus import served_store
from mm_proto import RiskEvent, subjects
from mm_runtime.nats_server import NatsServerError


def last_week(now_ns: int | None = None) -> Window:
    """From midnight UTC six days ago until now: seven days, today included."""
    now = time.time_ns() if now_ns is None else now_ns
    return Window(now - now % DAY_NS - 6 * DAY_NS, now)


async def from_stream(url: str, options: dict[str, Any], window: Window) -> dict[str, Any]:
    """The rollup of the window's snapshots, with each day's automatic halts (None: unknown)."""
    snapshots = await read_snapshots(url, options, window)
    if not snapshots:
        raise ReportError("the KPI stream is empty: has the ledger ever run?")
    document = rollup(snapshots, window.from_ns, window.to_ns)
    try:
        stream = (subjects.RISK_STREAM, subjects.risk_event_pattern())
        events = await read_stored(url, options, stream, window.from_ns, RiskEvent)
    except ReportError:
        events = None
    for day, figures in document["days"].items():
        if figures is not None:
            start = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 10**9
            day_window = Window(start, start + DAY_NS)
            figures["halts"] = None if events is None else automatic(events, day_window)
    return document


def from_file(path: Path) -> dict[str, Any]:
    """A weekly file the ledger wrote; ReportError when it is not one."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReportError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("days"), dict):
        raise ReportError(f"{path} is not a weekly rollup (no 'days' object)")
    return document


def judge_days(document: dict[str, Any], thresholds: Thresholds) -> None:
    """Add each day's gate verdict and checks (a day without data has none)."""
    for figures in document["days"].values():
        if figures is None:
            continue
        evidence = Evidence(
            figures,
            notional=Decimal(figures["notional"]),
            halts=figures.get("halts"),
            absent_reason=STREAM_ABSENT,
        )
        checks = evaluate(evidence, thresholds)
        figures["gate"] = {
            "verdict": VERDICTS[outcome(checks, thresholds)],
            "checks": {check.name: check.verdict for check in checks},
        }


def worst_markout(figures: dict[str, Any]) -> str:
    rows = [h["10s"]["bps"] for h in figures["markouts"].values() if h.get("10s", {}).get("fills")]
    return f"{min(rows):.2f}" if rows else "-"


def print_weekly(document: dict[str, Any], console: Console) -> None:
    table = Table(title=f"week {document['week']['label']}: per day and symbol")
    columns = ("day", "symbol", "net", "spread", "fees", "inventory", "funding", "fills")
    for column in (*columns, "presence", "markout 10s", "gate"):
        table.add_column(column, justify="left" if column in ("day", "symbol") else "right")
    for day, figures in document["days"].items():
        if figures is None:
            table.add_row(day, "-", *(["no data"] + [""] * 8))
            continue
        for symbol, mine in figures["symbols"].items():
            pnl, quoting = mine["pnl"], mine["quoting"]
            table.add_row(
                day,
                symbol,
                *(pnl[key] for key in ("net", "spread", "fees", "inventory", "funding")),
                str(quoting["fills"]),
                f"{quoting['presence']:.1%}",
                worst_markout(mine),
                figures["gate"]["verdict"],
            )
    console.print(table)


def run_weekly(
    arguments: Any, options: dict[str, Any], window: Window, thresholds: Thresholds
) -> int:
    """`mm report --weekly`'s exit code: 0 done, 1 nothing to report, 2 no bus and no store."""
    try:
        if arguments.file is not None:
            document = from_file(arguments.file)
        else:
            document = _read(arguments, options, window)
    except ReportError as error:
        print(f"mm report --weekly: {error}", file=sys.stderr)
        return 1
    except (OSError, nats.errors.Error, NatsServerError, BusUnreachableError) as error:
        print(f"mm report --weekly: cannot read {arguments.nats}: {error}", file=sys.stderr)
        return 2
    judge_days(document, thresholds)
    if arguments.html is not None:
        # Imported here: matplotlib takes a while to load and only this option needs it.
        from mm_cli.weekly_html import write_weekly_page

        write_weekly_page(arguments.html, document)
    if arguments.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    elif arguments.html is None:
        print_weekly(document, Console())
    return 0


def _read(arguments: Any, options: dict[str, Any], window: Window) -> dict[str, Any]:
    """From the running bus, or from a stopped stack's store in its run dir."""
    try:
        return asyncio.run(from_stream(arguments.nats, options, window))
    except BusUnreachableError:
        if not (arguments.run_dir / "nats").is_dir():
            raise
    with served_store(arguments.run_dir) as url:
        return asyncio.run(from_stream(url, options, window))

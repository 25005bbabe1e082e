"""The pre-live pack's two runs: the backtest on the latest recording and the stack rehearsal.

The backtest runs in this process (`mm_backtest.Backtest`, the same as `mm backtest`) on the
newest hour of a recording tree (the recorder's layout `<venue>/<category>/<SYMBOL>/<date>/<HH>`),
stopped at its time bound (`request_stop`; an interrupted run fails the step). The stack runs
as a child process, `python -m mm_soak.rehearsal` (mm_soak depends on this package, so it is
not imported), within its bound: past it the child gets SIGINT (it stops the stack) and, if it
does not end, SIGKILL. Each returns the gate's `Evidence`: the backtest's report with its traded
notional from its fills; the stack's read from its stopped store by the code `mm gate --since`
reads a running one with (`gate_command.read_gate_window`, `from_snapshots`): KPI snapshots,
automatic halts (stream RISK), and the stored tick→order, obligation and reconciliation facts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from mm_backtest.engine import Backtest
from mm_backtest.latency import constant_ms
from mm_backtest.output import write_run
from mm_backtest.params import BacktestParams
from mm_cli.gate_checks import Evidence
from mm_cli.gate_command import from_report, from_snapshots, read_gate_window
from mm_cli.gate_facts import StoredFacts
from mm_cli.operator import connection_options
from mm_cli.prelive_pack import FAIL, PASS, Step
from mm_cli.report_html import write_page
from mm_cli.report_window import Window
from mm_cli.stored_bus import served_store
from mm_cli.supervisor import die_with
from mm_proto import Fill, KpiSnapshot

Say = Callable[[str], None]
STOP_GRACE_S = 30.0  # how long the rehearsal may take to stop its stack after SIGINT
_SAY_EVERY_S = 5.0


class StepError(Exception):
    """A run that could not start, with the reason."""


def latest_recording(root: Path) -> list[Path]:
    """Every symbol's file of the newest hour under `root` (recorder layout)."""
    files = [p for p in root.rglob("*") if p.name.endswith((".jsonl", ".jsonl.zst"))]
    if not files:
        raise StepError(f"no recording under {root} (expected <venue>/<category>/<SYMBOL>/...)")

    def hour(path: Path) -> tuple[str, str]:
        return path.parent.name, path.name.split(".", 1)[0]

    newest = max(hour(path) for path in files)
    return sorted(path for path in files if hour(path) == newest)


def traded_notional(fills: list[Fill], params: BacktestParams) -> Decimal:
    grids = {i.symbol: (Decimal(i.tick_size), Decimal(i.qty_step)) for i in params.instruments}
    total = Decimal(0)
    for fill in fills:
        tick, step = grids[fill.symbol]
        total += fill.price_ticks * tick * fill.size_lots * step
    return total


def run_backtest(
    params: BacktestParams, files: list[Path], out: Path, deadline: float, say: Say
) -> tuple[Step, Evidence | None, list[KpiSnapshot]]:
    """The backtest step, its evidence (None when it produced nothing to judge), its KPIs."""
    latency = params.latency
    backtest = Backtest(params, files, constant_ms(latency.feed_ms), constant_ms(latency.order_ms))
    last = [time.monotonic()]

    def progress(done: int, _ts: int) -> None:
        now = time.monotonic()
        if now > deadline:
            backtest.request_stop()
        if now - last[0] > _SAY_EVERY_S:
            last[0] = now
            say(f"{done:,} frames")

    result = backtest.run(progress, every=500)
    about = {"data": [str(f) for f in files], "queue": params.queue}
    document = write_run(out, result, about, write_page)
    details = {"data": about["data"], "frames": result.frames, "fills": len(result.fills)}
    details["net"] = document["total"]["net"]
    if result.interrupted:
        reason = "stopped at its time bound: partial"
        return Step("backtest", FAIL, [reason], details=details), None, result.snapshots
    if result.frames == 0:
        reason = "the recording held no frames"
        return Step("backtest", FAIL, [reason], details=details), None, result.snapshots
    evidence = from_report(out / "report.json")
    evidence = replace(
        evidence, notional=traded_notional(result.fills, params), absent_reason="not in a backtest"
    )
    return Step("backtest", PASS, details=details), evidence, result.snapshots


@dataclass(frozen=True)
class Rehearsal:
    params: Path
    out: Path
    trade_s: float
    drills: tuple[str, ...]


async def _relay(process: asyncio.subprocess.Process, deadline: float, say: Say) -> list[str]:
    """Relay the child's lines until it ends or the deadline passes; its last lines."""
    assert process.stdout is not None
    tail: list[str] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        line = await asyncio.wait_for(process.stdout.readline(), timeout=left)
        if not line:
            return tail
        text = line.decode(errors="replace").rstrip()
        tail = [*tail[-9:], text]
        say(text)


async def _rehearse(plan: Rehearsal, deadline: float, say: Say) -> tuple[int, list[str]]:
    command = [sys.executable, "-m", "mm_soak.rehearsal", "--params", str(plan.params)]
    command += ["--out", str(plan.out), "--trade-s", str(plan.trade_s)]
    command += ["--drills", ",".join(plan.drills)]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=die_with(os.getpid()),  # mm prelive killed: the rehearsal and its stack too
    )
    try:
        tail = await _relay(process, deadline, say)
        return await process.wait(), tail
    except TimeoutError:
        say("time bound reached: stopping the stack")
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_GRACE_S)
        except TimeoutError:
            process.kill()
            await process.wait()
        return -1, ["stopped at its time bound"]


def run_stack(plan: Rehearsal, deadline: float, say: Say) -> tuple[Step, dict[str, Any] | None]:
    """The stack step and the rehearsal's findings (None when it did not finish)."""
    if importlib.util.find_spec("mm_soak") is None:
        reason = "mm-soak (tools/soak) is not installed here: the stack rehearsal needs it"
        return Step("stack", FAIL, [reason]), None
    plan.out.mkdir(parents=True, exist_ok=True)
    code, tail = asyncio.run(_rehearse(plan, deadline, say))
    report = plan.out / "rehearsal.json"
    if code != 0 or not report.is_file():
        return Step("stack", FAIL, [f"the rehearsal did not finish (exit {code})", *tail]), None
    found: dict[str, Any] = json.loads(report.read_text())
    reasons = [f"{key} refused: {why}" for key, why in found["config_refusals"].items()]
    if not found["quoting"]:
        reasons.append("the stack never placed an order")
    details = {key: found[key] for key in ("symbols", "quoting", "config_refusals")}
    return Step("stack", FAIL if reasons else PASS, reasons, details=details), found


def stack_kpis(run_dir: Path, window: Window) -> tuple[list[KpiSnapshot], int | None, StoredFacts]:
    """The stopped stack's stored KPI snapshots, automatic halts and gate facts in `window`,
    read as `mm gate --since` reads them."""
    options = connection_options(run_dir / "bus")
    with served_store(run_dir) as url:
        return asyncio.run(read_gate_window(url, options, window))


def stack_evidence(
    snapshots: list[KpiSnapshot], halts: int | None, window: Window, facts: StoredFacts
) -> Evidence:
    """The gate's evidence of the rehearsal, exactly as `mm gate` builds it from a bus.
    ReportError when no snapshot falls in the window."""
    return from_snapshots(snapshots, window, None, halts, facts)


def findings_steps(found: dict[str, Any]) -> list[Step]:
    """The drills, the venue audit and the secret canary, each judged from the findings."""
    drills = found["drills"]
    failures = [f"{d['name']}: {'; '.join(d['failures'])}" for d in drills if d["failures"]]
    steps = [
        Step(
            "drills",
            FAIL if failures else PASS,
            failures,
            details={"drills": drills},
            failed_checks=[d["name"] for d in drills if d["failures"]],
        )
    ]
    audit = found["audit"]
    steps.append(
        Step(
            "venue_audit",
            PASS if audit["ok"] else FAIL,
            [] if audit["ok"] else [audit["findings"]],
            details=audit,
        )
    )
    canary = found["canary"]
    reasons = [f"the canary secret is in {path}" for path in canary["files"]]
    reasons += [f"the canary secret is on {service}'s /metrics" for service in canary["metrics"]]
    if not canary["in_use"]:
        reasons.append("the run did not sign with the canary secret: the search proves nothing")
    if not canary["control_found"]:
        reasons.append("the search did not find the secret file itself: it cannot be trusted")
    steps.append(Step("secret_canary", FAIL if reasons else PASS, reasons, details=canary))
    return steps

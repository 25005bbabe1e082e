"""`mm prelive --params P.json --out DIR [--quick]`: the rehearsal before going live with a
parameter set, as one directory with `pack.json` (GO / NO-GO and why) and `index.html`.

Steps, in order, each bounded by what is left of the pack's time bound (`--budget-s`; the quick
form's default fits in `make test`): `config` (`prelive_checks.validate`), `backtest` on the
newest hour of `--recordings` and its gate (`backtest_gate`), the `stack` rehearsal on the
simulator with the chaos drills (`prelive_steps.run_stack`), then from its findings `drills`,
`venue_audit`, `secret_canary`, and the gate on its KPIs (`stack_gate`). A step that cannot run
because an earlier one failed is SKIPPED with the reason. Progress goes to stderr as
`[n/N step] what (T s left)`. Exit 0 GO, 1 NO-GO, 2 when the pack could not be written.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from ledger.report import summarise
from mm_backtest.params import BacktestParams
from mm_cli.gate_thresholds import Thresholds
from mm_cli.prelive_checks import gate, validate
from mm_cli.prelive_pack import FAIL, GO, Step, document, skipped, write
from mm_cli.prelive_steps import (
    Rehearsal,
    StepError,
    findings_steps,
    latest_recording,
    run_backtest,
    run_stack,
    stack_evidence,
    stack_kpis,
)
from mm_cli.report_command import ReportError
from mm_cli.report_html import write_page
from mm_cli.report_window import Window
from mm_proto import KpiSnapshot

STEPS: tuple[str, ...] = (
    "config",
    "backtest",
    "backtest_gate",
    "stack",
    "drills",
    "venue_audit",
    "secret_canary",
    "stack_gate",
)
RESERVE_S = 10.0  # kept back from the stack's bound for its gate, the plots and the pack


@dataclass(frozen=True)
class Form:
    budget_s: float
    backtest_s: float
    trade_s: float
    drills: str  # as mm_soak.rehearsal's --drills


QUICK = Form(budget_s=90.0, backtest_s=20.0, trade_s=15.0, drills="kill-executor")
FULL = Form(budget_s=2400.0, backtest_s=600.0, trade_s=300.0, drills="all")


class Pacer:
    """The pack's clock: which step it is on and how long is left, on stderr."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.label = ""
        self.step_started = self.started

    def begin(self, name: str) -> None:
        self.label = f"[{STEPS.index(name) + 1}/{len(STEPS)} {name}]"
        self.step_started = time.monotonic()
        self.say("started")

    def say(self, text: str) -> None:
        left = max(0.0, self.deadline - time.monotonic())
        print(f"{self.label} {text} ({left:.0f} s left)", file=sys.stderr, flush=True)

    def timed(self, step: Step) -> Step:
        step.seconds = round(time.monotonic() - self.step_started, 2)
        self.say(step.verdict)
        return step


def _backtest(
    arguments: Any, params: BacktestParams, thresholds: Thresholds, pacer: Pacer, form: Form
) -> tuple[list[Step], list[KpiSnapshot]]:
    pacer.begin("backtest")
    try:
        files = latest_recording(arguments.recordings)
    except StepError as error:
        return [
            pacer.timed(Step("backtest", FAIL, [str(error)])),
            skipped("backtest_gate", "no backtest"),
        ], []
    pacer.say(f"replaying {', '.join(str(f) for f in files)}")
    deadline = min(pacer.deadline, time.monotonic() + form.backtest_s)
    step, evidence, snapshots = run_backtest(
        params, files, arguments.out / "backtest", deadline, pacer.say
    )
    steps = [pacer.timed(step)]
    if evidence is None:
        return [*steps, skipped("backtest_gate", "the backtest did not finish")], snapshots
    pacer.begin("backtest_gate")
    return [*steps, pacer.timed(gate("backtest", evidence, thresholds))], snapshots


def _stack(
    arguments: Any, thresholds: Thresholds, pacer: Pacer, form: Form
) -> tuple[list[Step], list[KpiSnapshot]]:
    pacer.begin("stack")
    out = (arguments.out / "stack").resolve()
    plan = Rehearsal(arguments.params.resolve(), out, form.trade_s, (form.drills,))
    step, found = run_stack(plan, pacer.deadline - RESERVE_S, pacer.say)
    steps = [pacer.timed(step)]
    if found is None:
        why = "the stack rehearsal did not finish"
        return [*steps, *(skipped(name, why) for name in STEPS[4:])], []
    steps += findings_steps(found)
    pacer.begin("stack_gate")
    window = Window(*found["trading_window_ns"])
    pacer.say(f"judging the trading before the drills, {window.describe()}")
    snapshots, halts, facts = stack_kpis(out / "run", window)
    try:
        evidence = stack_evidence(snapshots, halts, window, facts)
    except ReportError as error:
        return [*steps, pacer.timed(Step("stack_gate", FAIL, [str(error)]))], snapshots
    if snapshots:
        write_page(out / "report.html", summarise(snapshots), snapshots)
    return [*steps, pacer.timed(gate("stack", evidence, thresholds))], snapshots


def run_prelive(arguments: Any) -> int:
    form = QUICK if arguments.quick else FULL
    budget_s = form.budget_s if arguments.budget_s is None else arguments.budget_s
    if not budget_s > 0:
        print(f"mm prelive: --budget-s must be positive, was {budget_s}", file=sys.stderr)
        return 2
    try:
        arguments.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"mm prelive: cannot create {arguments.out}: {error}", file=sys.stderr)
        return 2
    pacer = Pacer(budget_s)
    pacer.begin("config")
    step, params, thresholds = validate(arguments.params, arguments.gate_config)
    steps, runs = [pacer.timed(step)], {}
    if params is None:
        steps += [skipped(name, "the parameters did not validate") for name in STEPS[1:]]
    else:
        backtest_steps, runs["backtest"] = _backtest(arguments, params, thresholds, pacer, form)
        stack_steps, runs["stack"] = _stack(arguments, thresholds, pacer, form)
        steps += backtest_steps + stack_steps
    return _finish(arguments, steps, runs, pacer)


def _finish(
    arguments: Any, steps: list[Step], runs: dict[str, list[KpiSnapshot]], pacer: Pacer
) -> int:
    # Imported here: matplotlib takes a while to load.
    from mm_cli.prelive_plots import plots

    about = {
        "params": str(arguments.params),
        "quick": bool(arguments.quick),
        "budget_s": pacer.budget_s,
        "seconds": round(time.monotonic() - pacer.started, 1),
        "pages": [
            p
            for p in ("backtest/report.html", "stack/report.html")
            if (arguments.out / p).is_file()
        ],
    }
    pack = document(steps, about)
    try:
        write(arguments.out, pack, plots(steps, pacer.budget_s, runs))
    except OSError as error:
        print(f"mm prelive: cannot write the pack to {arguments.out}: {error}", file=sys.stderr)
        return 2
    print(json.dumps({key: pack[key] for key in ("verdict", "failed", "reasons")}, indent=2))
    print(f"wrote {arguments.out / 'pack.json'} and {arguments.out / 'index.html'}")
    return 0 if pack["verdict"] == GO else 1

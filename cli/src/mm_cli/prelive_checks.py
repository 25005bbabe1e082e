"""The pre-live pack's judgements: the parameter file's validation and the KPI gate per source.

Validation: the file as `mm backtest` parses it (`QuoterParams`, `RiskLimits`, the instruments,
each symbol's quoter overrides: the production models, so exactly what the services refuse),
plus that each instrument is one the simulator lists, on the same grid (the stack step runs the
simulator's instruments: another grid would rehearse something else), and the gate's thresholds.

The gate (`gate_checks`) runs on both sources with the same thresholds. Each source cannot show
some checks at all (`CANNOT_SHOW`, with the reason): those are listed as not judged and taken
out of `required`; every other required check must PASS, and a required check without data
fails the step ("a check without data is never a pass").
"""

from __future__ import annotations

from dataclasses import asdict, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from mm_backtest.params import BacktestParams, ParamsError, load_document, parse_params
from mm_cli.gate_checks import FAIL as CHECK_FAIL
from mm_cli.gate_checks import PASS as CHECK_PASS
from mm_cli.gate_checks import Evidence, evaluate
from mm_cli.gate_thresholds import GateConfigError, Thresholds, load
from mm_cli.prelive_pack import FAIL, PASS, Step
from mm_sim.settings import SimSettings

CANNOT_SHOW: dict[str, dict[str, str]] = {
    "backtest": {
        "obligation_coverage": "the backtest's quoter core does not report its coverage",
        "tick_to_order_p99": "a backtest's latency is the model's input, not a measurement",
        "reconciliation": "a backtest has no venue to reconcile against",
    },
    "stack": {},
}
_GRID = ("tick_size", "qty_step", "min_order_qty")


def validate(params: Path, gate_config: Path | None) -> tuple[Step, BacktestParams | None, Any]:
    """The config step, the parsed parameters and thresholds (None when refused)."""
    reasons: list[str] = []
    parsed = thresholds = None
    try:
        parsed = parse_params(load_document(params))
        reasons += grid_mismatches(parsed)
    except ParamsError as error:
        reasons.append(str(error))
    try:
        thresholds = load(gate_config)
    except GateConfigError as error:
        reasons.append(str(error))
    if reasons:
        return Step("config", FAIL, reasons), None, None
    assert parsed is not None
    assert thresholds is not None
    details = {"symbols": parsed.symbols(), "gate": asdict(thresholds)}
    return Step("config", PASS, [], details=details), parsed, thresholds


def grid_mismatches(params: BacktestParams) -> list[str]:
    """Instruments the simulator does not list, or lists on another grid."""
    listed = {i.symbol: i for i in SimSettings().instruments if i.category == "linear"}
    reasons = []
    for instrument in params.instruments:
        known = listed.get(instrument.symbol)
        if known is None:
            reasons.append(
                f"instrument {instrument.symbol} is not one the simulator lists "
                f"({', '.join(sorted(listed))}): the stack step could not run it"
            )
            continue
        for key in _GRID:
            mine, theirs = getattr(instrument, key), getattr(known, key)
            if Decimal(mine) != Decimal(theirs):
                reasons.append(
                    f"instrument {instrument.symbol} {key} {mine} differs from the "
                    f"simulator's {theirs}: the stack step would rehearse another grid"
                )
    return reasons


def gate(source: str, evidence: Evidence, thresholds: Thresholds) -> Step:
    """The gate on one source as a step: PASS only when every judged required check passed."""
    cannot = CANNOT_SHOW[source]
    required = tuple(name for name in thresholds.required if name not in cannot)
    checks = evaluate(evidence, replace(thresholds, required=required))
    failed = [c.name for c in checks if c.verdict == CHECK_FAIL]
    dataless = [c.name for c in checks if c.name in required and c.verdict != CHECK_PASS]
    dataless = [name for name in dataless if name not in failed]
    reasons = [
        f"{c.name} FAIL: {c.figure} (threshold {c.threshold})" for c in checks if c.name in failed
    ]
    reasons += [f"{name}: no data, and it is required" for name in dataless]
    if not any(c.verdict == CHECK_PASS for c in checks):
        reasons.append("no check had data: a gate cannot pass on nothing")
        dataless.append("any")
    rows = [asdict(c) for c in checks]
    for row in rows:
        if row["name"] in cannot:
            row["verdict"] = f"not judged: {cannot[row['name']]}"
    details = {"checks": rows, "required": list(required)}
    verdict = FAIL if failed or dataless else PASS
    return Step(
        f"{source}_gate", verdict, reasons, details=details, failed_checks=failed + dataless
    )

"""The canary rollout's state machine: from a state and the KPI stream to the next transition.

`evaluate` judges a ramping rollout on the ledger's KPI snapshots: green's own figures over the
current step after its first tenth (the KPI gate, `gate_checks`, with the thresholds fixed in the
state) and green against blue (net PnL per traded notional and the 10 s markout, both in bps;
blue's figures over the whole rollout, so a step with every symbol on green still has a
reference). A gate FAIL or green worse than blue by more than the tolerance rolls back at once,
as soon as a quarter of the step's window has run; a PASS not worse than blue once the step's
window has passed advances to the next step, or after the last (100 %) step promotes. Anything
else holds (too little data is never a pass). Every transition is a pure function of the state
and the snapshots, so whichever controller process evaluates, and however often it restarts, the
verdict is the same.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from ledger.report import summarise
from mm_cli.gate_checks import FAIL, PASS, Check, Evidence, outcome
from mm_cli.gate_checks import evaluate as gate_evaluate
from mm_cli.gate_thresholds import GateConfigError, Thresholds, parse
from mm_cli.rollout_rules import green_symbols
from mm_proto import KpiSnapshot
from mm_proto.rollout import ABORTED, PROMOTED, RAMPING, ROLLED_BACK, RolloutEvent, RolloutState

_NS = 1_000_000_000
# What a rollout's gate requires by default: the checks the KPI stream carries data for.
# The first tenth of each step is not judged: the switch itself (the old color's orders
# cancelled, the new one's placed) is not the candidate's doing.
WARMUP_DIVISOR = 10
# A breach rolls back at once, but only once a quarter of the step's window has run: one bad
# snapshot right after the switch is not evidence.
BREACH_DIVISOR = 4
ROLLOUT_REQUIRED = ("markout_10s", "toxic_share", "taker_share", "rejects_per_1000", "presence")


@dataclass(frozen=True)
class Transition:
    """The next state and the event that says why."""

    state: RolloutState
    event: RolloutEvent


def gate_table(text: str | None) -> dict[str, str]:
    """A `[gate]` TOML table as the state keeps it (JSON values), checked by `gate_thresholds`."""
    section: dict[str, object] = {"required": list(ROLLOUT_REQUIRED)}
    if text is not None:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise GateConfigError(f"the gate file is not TOML: {error}") from None
        table = document.get("gate")
        if not isinstance(table, dict):
            raise GateConfigError("the gate file has no [gate] table")
        section.update(table)
    parse(section)
    return {key: json.dumps(value) for key, value in sorted(section.items())}


def thresholds_of(state: RolloutState) -> Thresholds:
    return parse({key: json.loads(value) for key, value in state.gate.items()})


def evaluate(state: RolloutState, snapshots: list[KpiSnapshot], now_ns: int) -> Transition | None:
    """The transition the KPIs call for, or None to hold."""
    if state.phase != RAMPING:
        return None
    settled = state.ts_step_started_ns + state.step_window_s * _NS // WARMUP_DIVISOR
    step = [s for s in snapshots if s.ts_start_ns >= settled]
    since = [s for s in snapshots if s.ts_end_ns > state.ts_started_ns]
    green = _figures(step, state.color)
    blue = _figures(since, "blue")
    checks = gate_evaluate(_evidence(step, state.color), thresholds_of(state))
    verdict = outcome(checks, thresholds_of(state))
    kpis = _kpis(green, blue, checks)
    elapsed = now_ns - state.ts_step_started_ns
    if elapsed < state.step_window_s * _NS // BREACH_DIVISOR:
        return None  # too little of the step to judge even a breach on
    failed = [c for c in checks if c.verdict == FAIL]
    if failed:
        names = ", ".join(f"{c.name} {c.figure} (needs {c.threshold})" for c in failed)
        return rollback(state, f"green failed the gate: {names}", kpis, now_ns)
    worse = _worse(green, blue, Decimal(state.tolerance_bps))
    if worse:
        return rollback(state, f"green is worse than blue: {'; '.join(worse)}", kpis, now_ns)
    if elapsed < state.step_window_s * _NS:
        return None
    if verdict != 0 or not _comparable(green, blue):
        return None
    reason = (
        f"green passed the gate over {state.step_window_s} s at {state.split_pct} % "
        f"and is not worse than blue by more than {state.tolerance_bps} bps"
    )
    if state.step_index + 1 >= len(state.ramp_pct):
        return promote(state, reason, kpis, now_ns)
    return advance(state, reason, kpis, now_ns)


def advance(state: RolloutState, reason: str, kpis: dict[str, str], now_ns: int) -> Transition:
    index = state.step_index + 1
    split = state.ramp_pct[index]
    green = green_symbols(state.rollout_id, state.symbols, split)
    changed = msgspec.structs.replace(
        state, step_index=index, split_pct=split, green_symbols=green, ts_step_started_ns=now_ns
    )
    return _transition(changed, "advance", reason, kpis, now_ns)


def promote(state: RolloutState, reason: str, kpis: dict[str, str], now_ns: int) -> Transition:
    """Green becomes blue (the caller has stored the candidate as the live config first)."""
    ended = msgspec.structs.replace(state, phase=PROMOTED, split_pct=0, green_symbols=[])
    return _transition(ended, "promote", reason, kpis, now_ns)


def rollback(state: RolloutState, reason: str, kpis: dict[str, str], now_ns: int) -> Transition:
    ended = msgspec.structs.replace(state, phase=ROLLED_BACK, split_pct=0, green_symbols=[])
    return _transition(ended, "rollback", reason, kpis, now_ns)


def abort(state: RolloutState, reason: str, now_ns: int) -> Transition:
    ended = msgspec.structs.replace(state, phase=ABORTED, split_pct=0, green_symbols=[])
    return _transition(ended, "abort", reason, {}, now_ns)


def _transition(
    state: RolloutState, action: str, reason: str, kpis: dict[str, str], now_ns: int
) -> Transition:
    changed = msgspec.structs.replace(
        state, seq=state.seq + 1, action=action, reason=reason, kpis=kpis,
        ts_changed_ns=now_ns, ts_evaluated_ns=now_ns,
    )  # fmt: skip
    return Transition(changed, event_of(changed, "bybit", "linear"))


def event_of(state: RolloutState, venue: str, category: str) -> RolloutEvent:
    """The event of the state's last transition (the same whenever it is built again)."""
    return RolloutEvent(
        venue=venue,
        category=category,
        rollout_id=state.rollout_id,
        seq=state.seq,
        action=state.action,
        phase=state.phase,
        step_index=state.step_index,
        split_pct=state.split_pct,
        green_symbols=list(state.green_symbols),
        reason=state.reason,
        kpis=dict(state.kpis),
        ts_event_ns=state.ts_changed_ns,
    )


@dataclass(frozen=True)
class Figures:
    """One color's comparable figures over a window (None: no data)."""

    fills: int
    net_bps: Decimal | None
    markout_bps: Decimal | None


def _of_color(snapshots: list[KpiSnapshot], color: str) -> list[KpiSnapshot]:
    return [s for s in snapshots if s.color == color]


def _evidence(snapshots: list[KpiSnapshot], color: str) -> Evidence:
    mine = _of_color(snapshots, color)
    notional = sum((Decimal(s.notional) for s in mine if s.side != "all"), Decimal(0))
    return Evidence(summarise(mine), notional=notional)


def _figures(snapshots: list[KpiSnapshot], color: str) -> Figures:
    rows = [s for s in _of_color(snapshots, color) if s.side != "all"]
    fills = sum(s.fills for s in rows)
    notional = sum((Decimal(s.notional) for s in rows), Decimal(0))
    net = sum((Decimal(s.net_pnl) for s in _of_color(snapshots, color)), Decimal(0))
    measured = sum(s.markout_fills.get("10s", 0) for s in rows)
    markout_quote = sum((Decimal(s.markout_quote.get("10s", "0")) for s in rows), Decimal(0))
    markout_notional = sum((Decimal(s.markout_notional.get("10s", "0")) for s in rows), Decimal(0))
    return Figures(
        fills=fills,
        net_bps=net / notional * 10_000 if fills and notional > 0 else None,
        markout_bps=(
            markout_quote / markout_notional * 10_000 if measured and markout_notional > 0 else None
        ),
    )


def _worse(green: Figures, blue: Figures, tolerance: Decimal) -> list[str]:
    found = []
    for name in ("net_bps", "markout_bps"):
        mine, theirs = getattr(green, name), getattr(blue, name)
        if mine is not None and theirs is not None and mine < theirs - tolerance:
            found.append(f"{name} {mine:.3f} < blue {theirs:.3f} - {tolerance}")
    return found


def _comparable(green: Figures, blue: Figures) -> bool:
    return any(
        getattr(green, n) is not None and getattr(blue, n) is not None
        for n in ("net_bps", "markout_bps")
    )


def _kpis(green: Figures, blue: Figures, checks: list[Check]) -> dict[str, str]:
    kpis = {f"gate.{c.name}": f"{c.verdict}: {c.figure}" for c in checks if c.verdict != "NO DATA"}
    for color, figures in (("green", green), ("blue", blue)):
        kpis[f"{color}.fills"] = str(figures.fills)
        for name in ("net_bps", "markout_bps"):
            value = getattr(figures, name)
            kpis[f"{color}.{name}"] = "no data" if value is None else f"{value:.3f}"
    return kpis


__all__ = ["ABORTED", "PASS", "PROMOTED", "ROLLED_BACK", "Transition", "evaluate"]

"""The gate's figures that are not in the KPI stream, read from the streams that store them.

- `no_halt`: risk publishes a `RiskEvent` with outcome `halt` each time its kill switch trips,
  on `risk.event.*` (stream RISK, kept `mm_runtime.jetstream.STREAM_MAX_AGE_S`); an operator's
  halt has check `manual`. A window reaching back past the stream's retention has an unknown
  count (None), never zero.
- `tick_to_order_p99`: the executor's per-minute `TickToOrderSummary` (`exec.latency.*`, stream
  EXEC). Quantiles of minutes do not add up, so the window's figure is the largest minute p99
  of any symbol: an upper bound of the window's p99 (at most 1 % of each minute's sends were
  slower than its p99, so at most 1 % of all were slower than the largest).
- `obligation_coverage`: the quoter's per-minute `ObligationSummary` (`quote.obligation.*`,
  stream QUOTER); per symbol met / snapshots over the window, the lowest symbol judged.
- `reconciliation`: the executor's `ReconciliationResult` per symbol and reconciliation
  (`exec.reconciliation.*`, stream EXEC); clean when every one in the window was.

A summary counts when its minute overlaps the window, a reconciliation when it happened inside.
With `--color`, a fact counts only where the symbol quoted that color then (its KPI snapshots of
that color show trading). A fact that does not decode, or whose figures contradict each other (met
above snapshots, p50 above p99, ...), is counted in `unreadable` and skipped; `gate_checks` then
never lets that check pass (the skipped fact might have been the failing one).
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mm_cli.report_command import ReportError, read_stored
from mm_cli.report_window import Window
from mm_proto import (
    KpiSnapshot,
    ObligationSummary,
    ReconciliationResult,
    RiskEvent,
    TickToOrderSummary,
    subjects,
)
from mm_runtime.jetstream import STREAM_MAX_AGE_S

MANUAL = "manual"  # the check of an operator's halt (`risk.control`)
SKEW_NS = 5_000_000_000  # read a little before the window: publish and stream clocks differ


def automatic(events: list[RiskEvent], window: Window) -> int:
    """The automatic halts among `events` inside the window."""
    return sum(
        1
        for event in events
        if event.outcome == "halt"
        and event.check != MANUAL
        and window.from_ns <= event.ts_event_ns < window.to_ns
    )


async def automatic_halts(
    nats_url: str, options: dict[str, Any], window: Window, now_ns: int | None = None
) -> int | None:
    """The automatic halts in the window, or None when the window outreaches stream RISK."""
    now = time.time_ns() if now_ns is None else now_ns
    if window.from_ns < now - int(STREAM_MAX_AGE_S * 1e9):
        return None
    stream = (subjects.RISK_STREAM, subjects.risk_event_pattern())
    try:
        events = await read_stored(nats_url, options, stream, window.from_ns, RiskEvent)
    except ReportError:  # risk never ran on this bus: nothing says whether it would have halted
        return None
    return automatic(events, window)


@dataclass
class StoredFacts:
    """The window's gate facts as read, before judging (each list already in the window)."""

    latency: list[TickToOrderSummary] = field(default_factory=list)
    obligation: list[ObligationSummary] = field(default_factory=list)
    reconciliation: list[ReconciliationResult] = field(default_factory=list)
    unreadable: Counter[str] = field(default_factory=Counter)  # by check name
    absent: dict[str, str] = field(default_factory=dict)  # check name: why it has no stream


_SOURCES = (
    (
        "tick_to_order_p99",
        subjects.EXEC_STREAM,
        subjects.tick_to_order_pattern(),
        TickToOrderSummary,
    ),
    (
        "obligation_coverage",
        subjects.QUOTER_STREAM,
        subjects.obligation_pattern(),
        ObligationSummary,
    ),
    (
        "reconciliation",
        subjects.EXEC_STREAM,
        subjects.reconciliation_pattern(),
        ReconciliationResult,
    ),
)


async def read_facts(nats_url: str, options: dict[str, Any], window: Window) -> StoredFacts:
    """The gate's stored facts of the window from one bus."""
    facts = StoredFacts()
    for check, stream, pattern, message_type in _SOURCES:
        try:
            found: list[Any] = await read_stored(
                nats_url,
                options,
                (stream, pattern),
                window.from_ns - SKEW_NS,
                message_type,
                on_bad=functools.partial(facts.unreadable.update, [check]),
            )
        except ReportError as error:
            facts.absent[check] = str(error)
            continue
        inside = [fact for fact in found if _inside(fact, window)]
        _keep(facts, check, [f for f in inside if _consistent(f, facts.unreadable, check)])
    return facts


def _keep(facts: StoredFacts, check: str, found: list[Any]) -> None:
    if check == "tick_to_order_p99":
        facts.latency = found
    elif check == "obligation_coverage":
        facts.obligation = found
    else:
        facts.reconciliation = found


def _inside(fact: Any, window: Window) -> bool:
    if isinstance(fact, ReconciliationResult):
        return window.from_ns <= fact.ts_event_ns < window.to_ns
    return bool(fact.ts_end_ns > window.from_ns and fact.ts_start_ns < window.to_ns)


def _consistent(fact: Any, unreadable: Counter[str], check: str) -> bool:
    """False (and counted) for a fact whose figures contradict each other."""
    if isinstance(fact, TickToOrderSummary):
        ok = (
            0 < fact.sampled <= fact.count
            and fact.p50_nanos <= fact.p99_nanos <= fact.max_nanos
            and fact.ts_start_ns <= fact.ts_end_ns
        )
    elif isinstance(fact, ObligationSummary):
        ok = fact.snapshots > 0 and fact.met <= fact.snapshots
        ok = ok and fact.ts_start_ns <= fact.ts_end_ns
    else:
        differed = fact.adopted + fact.corrected + fact.removed + fact.foreign
        ok = fact.outcome == "mismatch" or (differed == 0 and not fact.detail)
    if not ok:
        unreadable.update([check])
    return ok


def only_color(facts: StoredFacts, snapshots: list[KpiSnapshot], color: str) -> StoredFacts:
    """The facts of symbols while they quoted `color`: the windows of that color's KPI snapshots
    that show it trading (orders in view, orders created or fills; the ledger also writes
    empty rows of a color a symbol no longer quotes)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for snapshot in snapshots:
        active = snapshot.observed_nanos or snapshot.orders_created or snapshot.fills
        if snapshot.color == color and active:
            spans.setdefault(snapshot.symbol, []).append((snapshot.ts_start_ns, snapshot.ts_end_ns))

    def during(symbol: str, start: int, end: int) -> bool:
        """Overlaps a span of that color (a point in time: inside one)."""
        return any(s < end and start < e for s, e in spans.get(symbol, ()))

    return StoredFacts(
        latency=[f for f in facts.latency if during(f.symbol, f.ts_start_ns, f.ts_end_ns)],
        obligation=[f for f in facts.obligation if during(f.symbol, f.ts_start_ns, f.ts_end_ns)],
        reconciliation=[
            f for f in facts.reconciliation if during(f.symbol, f.ts_event_ns, f.ts_event_ns + 1)
        ],
        unreadable=facts.unreadable,
        absent=facts.absent,
    )


@dataclass(frozen=True)
class Figures:
    """The three checks' figures from stored facts (None: no fact in the window)."""

    obligation_coverage: float | None
    tick_to_order_p99_ms: float | None
    reconciliation: str | None  # "" when every reconciliation was clean
    details: dict[str, str]  # check name: where the figure comes from, for the table


def figures(facts: StoredFacts) -> Figures:
    """The lowest symbol's coverage, the largest minute p99, the first mismatches."""
    details: dict[str, str] = {}
    coverage = None
    met: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    for summary in facts.obligation:
        met[summary.symbol] += summary.met
        taken[summary.symbol] += summary.snapshots
    if taken:
        coverage, symbol = min((met[s] / taken[s], s) for s in taken)
        details["obligation_coverage"] = f"{symbol}, {met[symbol]}/{taken[symbol]} snapshots"
    p99_ms = None
    if facts.latency:
        worst = max(facts.latency, key=lambda s: s.p99_nanos)
        p99_ms = worst.p99_nanos / 1e6
        sends = sum(s.count for s in facts.latency)
        details["tick_to_order_p99"] = (
            f"{worst.symbol}, largest p99 of {len(facts.latency)} summaries, {sends} sends"
        )
    found = None
    if facts.reconciliation:
        bad = [r for r in facts.reconciliation if r.outcome != "clean"]
        runs = len(facts.reconciliation)
        found = "; ".join(f"{r.symbol} {r.detail or 'mismatch'}" for r in bad[:3])
        if bad:
            found = f"{len(bad)} of {runs} mismatched: {found}"
        details["reconciliation"] = f"{runs} reconciliations"
    return Figures(coverage, p99_ms, found, details)

"""The KPI gate's checks: a ledger summary (`ledger.report.summarise`'s) against thresholds.

Each check gives its figure, its threshold and a verdict: PASS, FAIL or NO DATA. A figure the
summary cannot show (no fills, no orders, no observed time, or a figure the KPI stream does not
carry) is NO DATA, never a pass; the summary's own ratios read 0 when their denominator is 0, so
every check looks at the count behind its ratio first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from mm_cli.gate_thresholds import Thresholds

PASS, FAIL, NO_DATA = "PASS", "FAIL", "NO DATA"


@dataclass(frozen=True)
class Evidence:
    """What a window shows: the summary, plus what only some sources know (None: unknown)."""

    summary: dict[str, Any]
    notional: Decimal | None = None  # traded notional in quote currency
    halts: int | None = None  # automatic halts in the window
    # Lowest obligation coverage of any symbol (0..1), as the quoter measured it.
    obligation_coverage: float | None = None
    tick_to_order_p99_ms: float | None = None
    # What disagreed between the venue and the bus ("" when they agreed).
    reconciliation: str | None = None
    absent_reason: str = "not in the KPI data"  # why a figure is None, for the table
    absent: dict[str, str] = field(default_factory=dict)  # a check's own reason, if any
    details: dict[str, str] = field(default_factory=dict)  # check: where its figure is from
    # Facts of a check that did not decode or contradicted themselves: it cannot pass.
    unreadable: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    figure: str
    threshold: str
    verdict: str


def evaluate(evidence: Evidence, thresholds: Thresholds) -> list[Check]:
    """Every check, in the order of `CHECKS`."""
    summary = evidence.summary
    symbols = summary.get("symbols", {})
    fills = sum(figures["quoting"]["fills"] for figures in symbols.values())
    enough = fills >= thresholds.min_fills
    checks = [
        _net_per_notional(summary, evidence.notional, enough, thresholds),
        _markout(symbols, thresholds),
        _toxic(symbols, thresholds),
        _taker(symbols, fills, enough, thresholds),
        _rejects(symbols, thresholds),
        _presence(symbols, thresholds),
        _obligation(evidence, thresholds),
        _tick_to_order(evidence, thresholds),
        _halts(evidence.halts, evidence.absent_reason),
        _reconciliation(evidence),
    ]
    return [_annotated(check, evidence) for check in checks]


def _annotated(check: Check, evidence: Evidence) -> Check:
    """The check with where its figure comes from; no PASS over unreadable facts."""
    figure = check.figure
    detail = evidence.details.get(check.name)
    if detail and check.verdict != NO_DATA:
        figure = f"{figure} ({detail})"
    skipped = evidence.unreadable.get(check.name, 0)
    if not skipped:
        return replace(check, figure=figure)
    figure = f"{figure}; {skipped} unreadable facts skipped"
    return replace(
        check, figure=figure, verdict=NO_DATA if check.verdict == PASS else check.verdict
    )


def outcome(checks: list[Check], thresholds: Thresholds) -> int:
    """0 PASS, 1 FAIL (any check failed), 2 too little data (a required check has none, or
    no check had any: a gate with nothing required still cannot pass on nothing)."""
    if any(c.verdict == FAIL for c in checks):
        return 1
    if any(c.verdict == NO_DATA and c.name in thresholds.required for c in checks):
        return 2
    if not any(c.verdict == PASS for c in checks):
        return 2
    return 0


def _judge(name: str, figure: float, text: str, limit: float, at_least: bool) -> Check:
    ok = figure >= limit if at_least else figure <= limit
    sign = ">=" if at_least else "<="
    return Check(name, text, f"{sign} {limit:g}", PASS if ok else FAIL)


def _absent(name: str, threshold: str, reason: str = "not in the KPI data") -> Check:
    return Check(name, reason, threshold, NO_DATA)


def _net_per_notional(
    summary: dict[str, Any], notional: Decimal | None, enough: bool, t: Thresholds
) -> Check:
    limit = t.net_per_notional_bps_min
    if notional is None:
        return Check(
            "net_per_notional", "no traded notional in this source", f">= {limit:g}", NO_DATA
        )
    if not enough or notional <= 0:
        return Check("net_per_notional", "no fills", f">= {limit:g} bps", NO_DATA)
    bps = float(Decimal(summary["total"]["net"]) / notional * 10_000)
    return _judge("net_per_notional", bps, f"{bps:.3f} bps", limit, True)


def _markout(symbols: dict[str, Any], t: Thresholds) -> Check:
    """The worst 10 s markout of any symbol and side with measured fills."""
    rows = [
        (row["bps"], f"{symbol} {side}")
        for symbol, figures in symbols.items()
        for side, horizons in figures["markouts"].items()
        if (row := horizons.get("10s")) is not None and row["fills"] > 0
    ]
    if not rows:
        return Check(
            "markout_10s", "no fills measured at 10 s", f">= {t.markout_10s_bps_min:g}", NO_DATA
        )
    bps, where = min(rows)
    return _judge("markout_10s", bps, f"{bps:.3f} bps ({where})", t.markout_10s_bps_min, True)


def _toxic(symbols: dict[str, Any], t: Thresholds) -> Check:
    """Toxic fills at 10 s over fills measured at 10 s, every symbol and side together."""
    measured = toxic = 0
    for figures in symbols.values():
        for horizons in figures["markouts"].values():
            row = horizons.get("10s")
            if row is not None:
                measured += row["fills"]
                toxic += round(row["toxic_share"] * row["fills"])
    if measured == 0:
        return Check(
            "toxic_share", "no fills measured at 10 s", f"<= {t.toxic_share_max:g}", NO_DATA
        )
    share = toxic / measured
    return _judge("toxic_share", share, f"{share:.2%} of {measured}", t.toxic_share_max, False)


def _taker(symbols: dict[str, Any], fills: int, enough: bool, t: Thresholds) -> Check:
    if not enough:
        return Check("taker_share", f"{fills} fills", f"<= {t.taker_share_max:g}", NO_DATA)
    takers = sum(
        round(f["quoting"]["taker_share"] * f["quoting"]["fills"]) for f in symbols.values()
    )
    share = takers / fills
    return _judge("taker_share", share, f"{takers} of {fills} fills", t.taker_share_max, False)


def _rejects(symbols: dict[str, Any], t: Thresholds) -> Check:
    orders = sum(f["quoting"]["orders_created"] for f in symbols.values())
    rejects = sum(sum(f["quoting"]["rejects"].values()) for f in symbols.values())
    limit = t.rejects_per_1000_orders_max
    if orders == 0:
        return Check("rejects_per_1000", "no orders", f"<= {limit:g}", NO_DATA)
    rate = rejects * 1000 / orders
    return _judge("rejects_per_1000", rate, f"{rate:.2f} ({rejects}/{orders})", limit, False)


def _presence(symbols: dict[str, Any], t: Thresholds) -> Check:
    """The lowest two-sided presence of any symbol observed in the window."""
    rows = [
        (f["quoting"]["presence"], symbol)
        for symbol, f in symbols.items()
        if f["quoting"]["observed_s"] > 0
    ]
    if not rows:
        return Check("presence", "no observed time", f">= {t.presence_min:g}", NO_DATA)
    presence, symbol = min(rows)
    return _judge("presence", presence, f"{presence:.2%} ({symbol})", t.presence_min, True)


def _why(evidence: Evidence, name: str) -> str:
    return evidence.absent.get(name, evidence.absent_reason)


def _halts(halts: int | None, reason: str) -> Check:
    if halts is None:
        return _absent("no_halt", "0 halts", reason)
    return Check("no_halt", f"{halts} halts", "0 halts", PASS if halts == 0 else FAIL)


def _obligation(evidence: Evidence, t: Thresholds) -> Check:
    limit = t.obligation_coverage_min
    if evidence.obligation_coverage is None:
        return _absent(
            "obligation_coverage", f">= {limit:.0%}", _why(evidence, "obligation_coverage")
        )
    coverage = evidence.obligation_coverage
    return _judge("obligation_coverage", coverage, f"{coverage:.2%}", limit, True)


def _tick_to_order(evidence: Evidence, t: Thresholds) -> Check:
    limit = t.tick_to_order_p99_ms_max
    p99 = evidence.tick_to_order_p99_ms
    if p99 is None:
        return _absent("tick_to_order_p99", f"<= {limit:g} ms", _why(evidence, "tick_to_order_p99"))
    return _judge("tick_to_order_p99", p99, f"{p99:.1f} ms", limit, False)


def _reconciliation(evidence: Evidence) -> Check:
    found = evidence.reconciliation
    if found is None:
        return _absent("reconciliation", "clean", _why(evidence, "reconciliation"))
    return Check("reconciliation", found or "venue and bus agree", "clean", FAIL if found else PASS)

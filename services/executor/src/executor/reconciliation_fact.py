"""A reconciliation's outcome as a fact for `mm gate`: clean, or what differed and where.

`result_of` reads a `ReconcileReport` (what the venue's open orders changed in our view) as a
`ReconciliationResult`: clean when nothing changed. Orders the venue had that we did not know
(`adopted`) count only after the process's first reconciliation of the symbol: a process that
just started knows no order yet, so adopting what its predecessor left is not a disagreement.
"""

from __future__ import annotations

import time

from executor.own_orders import ReconcileReport
from mm_proto import ReconciliationResult

MAX_NAMED = 10  # order ids named per kind in `detail`


def result_of(
    report: ReconcileReport,
    venue: str,
    category: str,
    reason: str,
    first: bool,
    now_ns: int | None = None,
) -> ReconciliationResult:
    """The report of one symbol's reconciliation as a fact."""
    differed = {
        "adopted": [] if first else report.adopted,
        "corrected": report.corrected,
        "removed": report.removed,
        "foreign": [order.venue_order_id for order in report.foreign],
    }
    detail = "; ".join(
        f"{kind}: {', '.join(ids[:MAX_NAMED])}{' …' if len(ids) > MAX_NAMED else ''}"
        for kind, ids in differed.items()
        if ids
    )
    return ReconciliationResult(
        venue=venue,
        category=category,
        symbol=report.symbol,
        outcome="mismatch" if detail else "clean",
        reason=reason,
        ts_event_ns=time.time_ns() if now_ns is None else now_ns,
        adopted=len(differed["adopted"]),
        corrected=len(report.corrected),
        removed=len(report.removed),
        foreign=len(report.foreign),
        detail=detail,
    )

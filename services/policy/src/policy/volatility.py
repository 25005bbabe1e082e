"""The volatility regime, read off the ledger's per-minute mids, off the fast path.

No service publishes a volatility figure (the quoter keeps its estimate in process), but each
`all` KPI row carries the mid its ledger last marked (`mid_end_half_ticks`, on the half-tick
grid) at the row's end. `realized_bps` turns a symbol's row mids into a realized volatility: the
root mean square of the relative mid change between consecutive rows, in bps, scaled to one
minute (each change divided by the square root of its gap in minutes), so rows a little more or
less than a minute apart weigh alike. The rules compare the figure over the decision window with
the figure over a longer baseline: their ratio is the regime.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

MINUTE_NS = 60_000_000_000


def mid_points(rows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(ts_end_ns, mid) of rows, one per end time, oldest first, mids that are not positive out.

    Rows of several colors end at the same time with the same mid: they count once.
    """
    return sorted({ts: mid for ts, mid in rows if mid > 0 and ts > 0}.items())


def realized_bps(points: list[tuple[int, int]], min_changes: int = 2) -> float | None:
    """Per-minute realized volatility of the mids in bps, or None with fewer than `min_changes`."""
    total, changes = 0.0, 0
    for (ts0, mid0), (ts1, mid1) in itertools.pairwise(points):
        move_bps = (mid1 - mid0) * 10_000 / mid0
        total += move_bps * move_bps / ((ts1 - ts0) / MINUTE_NS)
        changes += 1
    if changes < min_changes:
        return None
    figure = math.sqrt(total / changes)
    return figure if math.isfinite(figure) else None

"""Setting the ledger's gauges from its running totals and recent snapshots after each flush."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.core import Ledger
from ledger.metrics import LedgerMetrics
from ledger.report import markouts, quoting
from mm_proto import KpiSnapshot


def refresh_metrics(
    metrics: LedgerMetrics,
    ledger: Ledger,
    latest: list[KpiSnapshot],
    recent: Iterable[KpiSnapshot],
) -> None:
    """PnL and positions from the core's totals, presence from the last window, recent markouts."""
    for symbol, book in ledger.books.items():
        for color, totals in book.totals.items():
            values = totals.components(book.unit)
            for component, value in values.items():
                metrics.pnl.labels(symbol, component, color).set(float(value))
            peak = book.peaks.get(color, values["net"])
            metrics.drawdown.labels(symbol, color).set(max(0.0, float(peak - values["net"])))
        for color, position in book.positions.items():
            metrics.position.labels(symbol, color).set(position)
        window = [s for s in latest if s.symbol == symbol]
        if window:
            metrics.presence.labels(symbol).set(quoting(window)["presence"])
    recent_list = list(recent)
    keys = {(s.symbol, s.side, s.color) for s in recent_list if s.side != "all"}
    for symbol, side, color in keys:
        rows = [s for s in recent_list if (s.symbol, s.side, s.color) == (symbol, side, color)]
        for horizon, figures in markouts(rows).items():
            metrics.markout.labels(symbol, side, horizon, color).set(figures["bps"])
            metrics.toxic_share.labels(symbol, side, horizon, color).set(figures["toxic_share"])

"""A report over any window: KPI snapshots summed into the figures `mm report` and metrics show.

Pure: snapshots in, one JSON-ready dict out (keys documented in the ledger's README). Money stays
exact (Decimal sums, written as strings); ratios are floats rounded for reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ledger.figures import plain
from mm_proto import KpiSnapshot

COMPONENTS = ("spread", "fees", "inventory", "funding", "net")
_FIELDS = {
    "spread": "spread_pnl",
    "fees": "fee_pnl",
    "inventory": "inventory_pnl",
    "funding": "funding_pnl",
    "net": "net_pnl",
}
_NS = 1e9


def pnl(snapshots: Iterable[KpiSnapshot]) -> dict[str, Decimal]:
    """Each component summed exactly."""
    totals = dict.fromkeys(COMPONENTS, Decimal(0))
    for snapshot in snapshots:
        for component, field in _FIELDS.items():
            totals[component] += Decimal(getattr(snapshot, field))
    return totals


def markouts(snapshots: Iterable[KpiSnapshot]) -> dict[str, dict[str, Any]]:
    """Per horizon: markout in quote and bps (volume-weighted), fills measured, toxic share."""
    quote: dict[str, Decimal] = {}
    notional: dict[str, Decimal] = {}
    fills: dict[str, int] = {}
    toxic: dict[str, int] = {}
    for snapshot in snapshots:
        for horizon, value in snapshot.markout_quote.items():
            quote[horizon] = quote.get(horizon, Decimal(0)) + Decimal(value)
            notional[horizon] = notional.get(horizon, Decimal(0)) + Decimal(
                snapshot.markout_notional.get(horizon, "0")
            )
            fills[horizon] = fills.get(horizon, 0) + snapshot.markout_fills.get(horizon, 0)
            toxic[horizon] = toxic.get(horizon, 0) + snapshot.toxic_fills.get(horizon, 0)
    result = {}
    for horizon in sorted(quote, key=_seconds):
        bps = float(quote[horizon] / notional[horizon] * 10_000) if notional[horizon] else 0.0
        result[horizon] = {
            "quote": plain(quote[horizon]),
            "bps": round(bps, 4),
            "fills": fills[horizon],
            "toxic_share": round(toxic[horizon] / fills[horizon], 4) if fills[horizon] else 0.0,
        }
    return result


def _seconds(horizon: str) -> float:
    return float(horizon.rstrip("s"))


def quoting(snapshots: list[KpiSnapshot]) -> dict[str, Any]:
    """Presence, depth, quote age, order and fill counts, rejects, taker share, inventory."""
    observed = sum(s.observed_nanos for s in snapshots)
    fills = sum(s.fills for s in snapshots)
    created = sum(s.orders_created for s in snapshots)
    amends = sum(s.amends for s in snapshots)
    cancels = sum(s.cancels for s in snapshots)
    ages = sum(s.quote_age_count for s in snapshots)
    whole = [s for s in snapshots if s.side == "all"]
    span = sum(s.ts_end_ns - s.ts_start_ns for s in whole)
    rejects: dict[str, int] = {}
    for snapshot in snapshots:
        for reason, count in snapshot.rejects.items():
            rejects[reason] = rejects.get(reason, 0) + count
    return {
        "presence": _ratio(sum(s.two_sided_nanos for s in snapshots), observed),
        "observed_s": round(observed / _NS, 3),
        "depth_5bps_lots": _ratio(sum(s.depth_5bps_lot_nanos for s in snapshots), observed),
        "depth_10bps_lots": _ratio(sum(s.depth_10bps_lot_nanos for s in snapshots), observed),
        "quote_age_s": _ratio(sum(s.quote_age_nanos_sum for s in snapshots), ages * _NS),
        "orders_created": created,
        "fills": fills,
        "fills_per_order": _ratio(fills, created),
        "order_to_trade": _ratio(created + amends + cancels, fills),
        "amends_per_fill": _ratio(amends, fills),
        "cancels_per_fill": _ratio(cancels, fills),
        "rejects": dict(sorted(rejects.items())),
        "taker_share": _ratio(fills - sum(s.maker_fills for s in snapshots), fills),
        "inventory_twa_lots": _ratio(sum(s.position_lot_nanos for s in whole), span),
        "inventory_min_lots": min((s.position_min_lots for s in whole), default=0),
        "inventory_max_lots": max((s.position_max_lots for s in whole), default=0),
        "max_drawdown": plain(max((Decimal(s.max_drawdown) for s in whole), default=Decimal(0))),
    }


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def summarise(snapshots: list[KpiSnapshot]) -> dict[str, Any]:
    """The whole report: totals, then per symbol per color PnL, markouts by side, quoting."""
    symbols: dict[str, Any] = {}
    for symbol in sorted({s.symbol for s in snapshots}):
        mine = [s for s in snapshots if s.symbol == symbol]
        colors = sorted({s.color for s in mine})
        symbols[symbol] = {
            "pnl": _strings(pnl(mine)),
            "pnl_by_color": {c: _strings(pnl(s for s in mine if s.color == c)) for c in colors},
            "pnl_by_side": {
                side: _strings(pnl(s for s in mine if s.side == side)) for side in ("buy", "sell")
            },
            "markouts": {
                side: markouts(s for s in mine if s.side == side) for side in ("buy", "sell")
            },
            "quoting": quoting(mine),
        }
    return {
        "window": {
            "from_ns": min((s.ts_start_ns for s in snapshots), default=0),
            "to_ns": max((s.ts_end_ns for s in snapshots), default=0),
            "snapshots": len(snapshots),
        },
        "total": _strings(pnl(snapshots)),
        "symbols": symbols,
    }


def _strings(values: dict[str, Decimal]) -> dict[str, str]:
    return {key: plain(value) for key, value in values.items()}

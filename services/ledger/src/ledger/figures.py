"""The additive figures of one (symbol, side, color) over one window, and their KPI snapshot form.

Money that comes from prices is counted in integer `units` of the symbol's tick size x lot size / 2
(a fill's price is on the tick grid, a mid on the half-tick grid), so sums are exact integers;
venue amounts (fees, funding) are `Decimal`. Conversion to quote currency happens once, when a
snapshot is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mm_proto import KpiSnapshot

ZERO = Decimal(0)


def plain(value: Decimal) -> str:
    """A decimal as a plain string without exponent or trailing zeros ("0" for zero)."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@dataclass
class Figures:
    """Sums and counts for one key over the current window."""

    spread_units: int = 0
    inventory_units: int = 0
    fees: Decimal = ZERO  # the venue's sign: positive paid, a rebate negative
    funding: Decimal = ZERO  # the venue's sign: positive paid
    fills: int = 0
    maker_fills: int = 0
    volume_lots: int = 0
    notional_units: int = 0
    markout_units: dict[str, int] = field(default_factory=dict)
    markout_notional_units: dict[str, int] = field(default_factory=dict)
    markout_fills: dict[str, int] = field(default_factory=dict)
    toxic_fills: dict[str, int] = field(default_factory=dict)
    orders_created: int = 0
    amends: int = 0
    cancels: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    observed_nanos: int = 0
    two_sided_nanos: int = 0
    depth_5bps_lot_nanos: int = 0
    depth_10bps_lot_nanos: int = 0
    quote_age_nanos_sum: int = 0
    quote_age_count: int = 0
    position_lot_nanos: int = 0
    position_min_lots: int = 0
    position_max_lots: int = 0
    max_drawdown: Decimal = ZERO

    def net(self, unit: Decimal) -> Decimal:
        """Spread + inventory - fees - funding, in quote currency."""
        return (self.spread_units + self.inventory_units) * unit - self.fees - self.funding

    def add_markout(self, horizon: str, units: int, notional_units: int, toxic: bool) -> None:
        self.markout_units[horizon] = self.markout_units.get(horizon, 0) + units
        self.markout_notional_units[horizon] = (
            self.markout_notional_units.get(horizon, 0) + notional_units
        )
        self.markout_fills[horizon] = self.markout_fills.get(horizon, 0) + 1
        self.toxic_fills[horizon] = self.toxic_fills.get(horizon, 0) + int(toxic)


@dataclass(frozen=True)
class SnapshotContext:
    """What a snapshot needs beside the figures: identity, window and the running state."""

    venue: str
    category: str
    symbol: str
    side: str
    color: str
    ts_start_ns: int
    ts_end_ns: int
    unit: Decimal
    position_lots_end: int = 0
    cumulative: dict[str, Decimal] = field(default_factory=dict)  # Totals.components
    mid_end_half_ticks: int = 0
    exec_sequence: int = 0
    resume_state: str = ""


def to_snapshot(figures: Figures, context: SnapshotContext) -> KpiSnapshot:
    """The KPI snapshot of one key's figures."""
    unit = context.unit
    return KpiSnapshot(
        venue=context.venue,
        category=context.category,
        symbol=context.symbol,
        side=context.side,
        color=context.color,
        ts_start_ns=context.ts_start_ns,
        ts_end_ns=context.ts_end_ns,
        spread_pnl=plain(figures.spread_units * unit),
        fee_pnl=plain(-figures.fees),
        inventory_pnl=plain(figures.inventory_units * unit),
        funding_pnl=plain(-figures.funding),
        net_pnl=plain(figures.net(unit)),
        fills=figures.fills,
        maker_fills=figures.maker_fills,
        volume_lots=figures.volume_lots,
        notional=plain(figures.notional_units * unit),
        markout_quote={h: plain(v * unit) for h, v in figures.markout_units.items()},
        markout_notional={h: plain(v * unit) for h, v in figures.markout_notional_units.items()},
        markout_fills=dict(figures.markout_fills),
        toxic_fills=dict(figures.toxic_fills),
        orders_created=figures.orders_created,
        amends=figures.amends,
        cancels=figures.cancels,
        rejects=dict(figures.rejects),
        observed_nanos=figures.observed_nanos,
        two_sided_nanos=figures.two_sided_nanos,
        depth_5bps_lot_nanos=figures.depth_5bps_lot_nanos,
        depth_10bps_lot_nanos=figures.depth_10bps_lot_nanos,
        quote_age_nanos_sum=figures.quote_age_nanos_sum,
        quote_age_count=figures.quote_age_count,
        position_lots_end=context.position_lots_end,
        position_lot_nanos=figures.position_lot_nanos,
        position_min_lots=figures.position_min_lots,
        position_max_lots=figures.position_max_lots,
        cumulative_net_pnl=plain(context.cumulative.get("net", ZERO)),
        cumulative_spread_pnl=plain(context.cumulative.get("spread", ZERO)),
        cumulative_fee_pnl=plain(context.cumulative.get("fees", ZERO)),
        cumulative_inventory_pnl=plain(context.cumulative.get("inventory", ZERO)),
        cumulative_funding_pnl=plain(context.cumulative.get("funding", ZERO)),
        max_drawdown=plain(figures.max_drawdown),
        mid_end_half_ticks=context.mid_end_half_ticks,
        exec_sequence=context.exec_sequence,
        resume_state=context.resume_state,
    )

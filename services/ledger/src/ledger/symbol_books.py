"""One symbol's economic state: its grid, mark, positions per color, running totals, open orders.

Inventory PnL telescopes with spread capture: a fill of `q` at `p` earns `q x (mid_at_fill - p)` of
spread, then `q x (mid_now - mid_at_fill)` of inventory as the mid moves, so spread + inventory is
always `q x (mid_now - p)`, whichever mid the fill was valued at. That is what makes the ledger's
net equal the venue's equity change when both mark at the same price, and what lets a late or
replayed fill be booked against the mid known when it is processed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ledger.figures import ZERO, Figures
from ledger.markouts import MarkoutQueue
from ledger.marks import MidHistory
from ledger.quoting import RestingOrder
from mm_proto import InstrumentDefinition

HALF_TICK = Decimal("0.5")  # mids are kept doubled (`mid2`): the unit is half a tick


@dataclass
class Totals:
    """Running totals of one color since the books were opened, plus those restored at start."""

    spread_units: int = 0
    inventory_units: int = 0
    fees: Decimal = ZERO  # the venue's sign
    funding: Decimal = ZERO  # the venue's sign
    restored: dict[str, Decimal] = field(default_factory=dict)  # by component, positive good
    headline_markout_units: int = 0  # markouts at HEADLINE_HORIZON since the books were opened
    headline_notional_units: int = 0

    def components(self, unit: Decimal) -> dict[str, Decimal]:
        """spread, fees, inventory, funding and net in quote currency, positive good."""
        restored = self.restored
        values = {
            "spread": self.spread_units * unit + restored.get("spread", ZERO),
            "fees": -self.fees + restored.get("fees", ZERO),
            "inventory": self.inventory_units * unit + restored.get("inventory", ZERO),
            "funding": -self.funding + restored.get("funding", ZERO),
        }
        values["net"] = sum(values.values(), ZERO)
        return values

    def net(self, unit: Decimal) -> Decimal:
        return self.components(unit)["net"]


@dataclass
class SymbolBook:
    """Everything the ledger knows about one symbol."""

    instrument: InstrumentDefinition
    mids: MidHistory
    markouts: MarkoutQueue
    unit: Decimal = ZERO
    mid2: int | None = None
    clock_ns: int = 0  # the venue time quoting figures are accounted up to
    positions: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Totals] = field(default_factory=dict)
    peaks: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, RestingOrder] = field(default_factory=dict)
    rows: dict[tuple[str, str], Figures] = field(default_factory=dict)
    unmarked_fills: int = 0  # fills booked before any mid was known (valued at the next mid)
    pending_unmarked: list[tuple[str, str, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.unit = self.instrument.grid().notional(HALF_TICK, 1)  # one lot at half a tick

    def row(self, side: str, color: str) -> Figures:
        key = (side, color)
        figures = self.rows.get(key)
        if figures is None:
            figures = self.rows[key] = Figures()
            if side == "all":
                position = self.positions.get(color, 0)
                figures.position_min_lots = figures.position_max_lots = position
        return figures

    def total(self, color: str) -> Totals:
        totals = self.totals.get(color)
        if totals is None:
            totals = self.totals[color] = Totals()
        return totals

    def note_net(self, color: str) -> None:
        """Update the color's peak and the window's max drawdown with its current net."""
        net = self.total(color).net(self.unit)
        peak = self.peaks.get(color)
        if peak is None or net > peak:
            self.peaks[color] = net
            return
        row = self.row("all", color)
        row.max_drawdown = max(row.max_drawdown, peak - net)

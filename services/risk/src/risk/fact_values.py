"""What risk reads off an executor fact beyond its plain fields: a fill's fee in the quote coin
and a reconciliation baseline's entry price in ticks, each refused to a safe value when absurd."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Fill, Grid, Position


def baseline_entry(position: Position, grid: Grid | None) -> Decimal | None:
    """A reconciliation baseline's entry price in ticks (0 when unreadable); None otherwise."""
    if not position.reconciled or grid is None:
        return None
    try:
        entry = Decimal(position.entry_price) / grid.tick_size
    except ArithmeticError:
        entry = Decimal(0)
    return entry if entry.is_finite() and entry >= 0 else Decimal(0)


def fill_fee(fill: Fill, quote_coin: str) -> Decimal | None:
    """The fill's fee in the quote coin; None when it is not a finite amount of that coin."""
    try:
        fee = Decimal(fill.fee)
    except ArithmeticError:
        return None
    if not fee.is_finite() or fill.fee_currency not in ("", quote_coin):
        return None
    return fee

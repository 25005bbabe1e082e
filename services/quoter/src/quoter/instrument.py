"""What the quoter must know about an instrument to price it: tick, lot, minimums and maker fee."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Float noise guard for floor/ceil of values that are exact multiples in decimal.
SNAP_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Instrument:
    """Tick and lot size, the venue's minimum order quantity and notional, and our maker fee rate.

    `maker_fee_rate` is a fraction of notional (0.0002 = 2 bps paid; -0.0001 = 1 bp rebate).
    """

    symbol: str
    tick_size: float
    lot_size: float
    min_qty: float = 0.0
    min_notional: float = 0.0
    maker_fee_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol}: {name} must be a positive number, was {value}")
        for name in ("min_qty", "min_notional"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.symbol}: {name} must be >= 0, was {value}")
        if not (math.isfinite(self.maker_fee_rate) and abs(self.maker_fee_rate) < 0.01):
            raise ValueError(
                f"{self.symbol}: maker_fee_rate must be a fraction within ±0.01, "
                f"was {self.maker_fee_rate}"
            )

    def lots(self, quantity: float) -> int:
        """Whole lots in `quantity` base units, rounded down."""
        return math.floor(quantity / self.lot_size + SNAP_EPSILON)

    def quantity(self, lots: int) -> float:
        """Base units in `lots`."""
        return lots * self.lot_size

    def notional(self, price_ticks: float, lots: int) -> float:
        """Quote-currency value of `lots` at `price_ticks`."""
        return price_ticks * self.tick_size * lots * self.lot_size

    def min_lots(self, price_ticks: int) -> int:
        """The fewest lots (at least one) meeting both the minimum quantity and notional."""
        by_quantity = math.ceil(self.min_qty / self.lot_size - SNAP_EPSILON)
        by_notional = math.ceil(self.min_notional / self.notional(price_ticks, 1) - SNAP_EPSILON)
        return max(1, by_quantity, by_notional)

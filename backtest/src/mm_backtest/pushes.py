"""The venue's order pushes of a backtest, handed to the stack as the contract's order events.

Live, the simulator writes each order change as Bybit's `order` record (about 60 decimal and text
fields) and the executor reads it back (`mm_bybit.convert.order_event_from_order`). In one
process that round trip is most of the cost of an order's push, so the backtest's exchange
(`BacktestExchange`) converts the simulator's order straight into the event that conversion
gives: the same values, read from the integers the record's decimals were written from. The
record travels as `{"symbol": ..., EVENT: event}`. An order the direct conversion does not cover
(a status outside the simulator's usual ones, a grid that differs from the venue's, a negative
number the conversion would refuse) still goes as the full record through the live conversion,
so its outcome, including a counted refusal, stays the live one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_bybit.convert import CANCELLED_STATUSES, FILLED_STATUSES, SIDES, VENUE, end_reason
from mm_proto import (
    InstrumentDefinition,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
)
from mm_sim.clock import Clock
from mm_sim.exchange import Exchange
from mm_sim.orders import Order
from mm_sim.settings import SimSettings

EVENT = "event"  # the key of the converted event in a record the backtest's exchange writes
_NS_PER_MS = 1_000_000
_CONVERTED = FILLED_STATUSES | CANCELLED_STATUSES | {"New", "Rejected"}


class BacktestExchange(Exchange):
    """The simulator's engine, writing order pushes as contract events where the grids agree."""

    def __init__(
        self, settings: SimSettings, clock: Clock, grids: dict[str, InstrumentDefinition]
    ) -> None:
        super().__init__(settings, clock)
        self.grids = {
            symbol: grid
            for symbol, grid in grids.items()
            if any(state.instrument.symbol == symbol for state in self.symbols.values())
            and same_grid(grid, settings, symbol)
        }

    def order_record(self, order: Order) -> dict[str, Any]:
        grid = self.grids.get(order.instrument.symbol)
        if grid is None or not convertible(order):
            return order.record()
        return {"symbol": order.instrument.symbol, EVENT: order_event(order, grid)}


def same_grid(grid: InstrumentDefinition, settings: SimSettings, symbol: str) -> bool:
    """Whether the contract's grid has the venue's tick and lot in value (ticks and lots then
    mean the same on both sides, so the decimal round trip is the identity)."""
    configs = [c for c in settings.instruments if c.symbol == symbol]
    return (
        len(configs) == 1
        and Decimal(grid.tick_size) == configs[0].tick_size
        and Decimal(grid.lot_size) == configs[0].qty_step
        and configs[0].category == grid.category
    )


def convertible(order: Order) -> bool:
    """Whether `order_event` gives what the live conversion of the order's record gives."""
    return (
        order.price_ticks >= 0
        and order.qty_lots >= 0
        and order.cum_lots >= 0
        and order.leaves_lots >= 0
        and (order.updated_ms or order.created_ms) >= 0
        and order.side in SIDES
        and order.status in _CONVERTED
    )


def order_event(order: Order, grid: InstrumentDefinition) -> OrderEvent:
    """`order_event_from_order` of the order's record, from the order itself (see `convertible`)."""
    common: dict[str, Any] = {
        "venue": VENUE,
        "category": grid.category,
        "symbol": order.instrument.symbol,
        "client_order_id": order.order_link_id,
        "venue_order_id": order.order_id,
        "side": SIDES[order.side],
        "price_ticks": order.price_ticks,
        "size_lots": order.qty_lots,
        "ts_event_ns": (order.updated_ms or order.created_ms) * _NS_PER_MS,
    }
    status = order.status
    if status == "New":
        return OrderAccepted(**common)
    if status in FILLED_STATUSES:
        return OrderFilled(
            **common,
            filled_lots=order.cum_lots,
            leaves_lots=order.leaves_lots,
            partial=status == "PartiallyFilled",
        )
    if status in CANCELLED_STATUSES:
        return OrderCancelled(**common, reason=_reason(order))
    return OrderRejected(**common, reason=_reason(order))


def _reason(order: Order) -> str:
    return end_reason(order.status, order.cancel_type, order.reject_reason)

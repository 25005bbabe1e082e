"""The venue's order and position states in the library's terms, each converted once.

`VenueOrder` is one order as the venue reports it, in ticks and lots, with what its status means
(`final`, `filling`) so no caller reads the venue's status words. `order_push` turns one raw order
(a push, a REST catch-up row or a query answer) into everything a caller needs from it: the
order, the proto event it stands for, and an id that names this state of this order;
`position_push` does the same for a position.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_bybit import raw
from mm_bybit.convert import (
    VENUE,
    OrderFields,
    ms_to_ns,
    order_event_of,
    position_from_raw,
    side_from_venue,
)
from mm_proto import InstrumentDefinition, OrderEvent, Position, Side

FINAL_STATUSES = frozenset(
    {"Filled", "Cancelled", "PartiallyFilledCanceled", "Rejected", "Deactivated"}
)
_FILLING_STATUSES = frozenset({"PartiallyFilled", "Filled"})


@dataclass(frozen=True)
class VenueOrder:
    """One order as the venue reports it, in ticks and lots."""

    client_order_id: str
    venue_order_id: str
    side: Side
    price_ticks: int
    size_lots: int
    filled_lots: int
    status: str  # the venue's word; read `final` and `filling` rather than this
    updated_ms: int

    @property
    def final(self) -> bool:
        """Filled, cancelled, rejected or deactivated: the order is gone."""
        return self.status in FINAL_STATUSES

    @property
    def filling(self) -> bool:
        """Partly or fully filled (a filled order is also final)."""
        return self.status in _FILLING_STATUSES


def venue_order_from_raw(order: raw.Order, instrument: InstrumentDefinition) -> VenueOrder:
    """Convert a venue order object; ValueError when it is off the grid or malformed."""
    return VenueOrder(
        client_order_id=order.order_link_id,
        venue_order_id=order.order_id,
        side=side_from_venue(order.side, where=f"order {order.order_id}"),
        price_ticks=instrument.price_to_ticks(order.price or "0"),
        size_lots=instrument.qty_to_lots(order.qty or "0"),
        filled_lots=instrument.qty_to_lots(order.cum_exec_qty or "0"),
        status=order.order_status,
        updated_ms=int(order.updated_time or order.created_time or 0),
    )


@dataclass(frozen=True)
class OrderPush:
    """One order state from the venue, converted: what it is, what it stands for, its id."""

    symbol: str
    order: VenueOrder
    event: OrderEvent | None  # None for conditional states this system never uses
    state_id: str  # the same for the same state however often it is delivered


def order_push(order: raw.Order, instrument: InstrumentDefinition) -> OrderPush:
    """Convert one order state, each field once; ValueError (ConversionError is one) when it is
    malformed. The event is built from the converted order, so the two always agree."""
    view = venue_order_from_raw(order, instrument)
    common: OrderFields = {
        "venue": VENUE,
        "category": instrument.category,
        "symbol": order.symbol,
        "client_order_id": view.client_order_id,
        "venue_order_id": view.venue_order_id,
        "side": view.side,
        "price_ticks": view.price_ticks,
        "size_lots": view.size_lots,
        "ts_event_ns": ms_to_ns(view.updated_ms, where=f"order {order.order_id}"),
    }
    return OrderPush(
        symbol=order.symbol,
        order=view,
        event=order_event_of(order, instrument, common, view.filled_lots),
        state_id=(
            f"{order.order_id}:{order.order_status}:{order.updated_time}:"
            f"{order.cum_exec_qty}:{order.price}:{order.qty}"
        ),
    )


@dataclass(frozen=True)
class PositionPush:
    """One position state from the venue, converted, with an id that names this state."""

    position: Position
    state_id: str


def position_push(position: raw.Position, instrument: InstrumentDefinition) -> PositionPush:
    """Convert one position state; ConversionError when it is malformed."""
    return PositionPush(
        position=position_from_raw(position, instrument),
        state_id=(
            f"{position.symbol}:{position.updated_time}:{position.seq}:"
            f"{position.side}:{position.size}"
        ),
    )

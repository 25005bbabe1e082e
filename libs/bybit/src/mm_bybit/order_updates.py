"""Order pushes in venue order: each order's state only ever moves forward, whoever delivers it."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal, InvalidOperation

from mm_bybit.raw import Order

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered", "Triggered"})


def _progress(order: Order) -> tuple[int, Decimal, int]:
    """How far along an order state is: update time, then filled quantity, then finality."""
    try:
        filled = Decimal(order.cum_exec_qty or "0")
    except InvalidOperation:
        filled = Decimal(0)
    updated = int(order.updated_time or 0)
    return updated, filled, 0 if order.order_status in OPEN_STATUSES else 1


class OrderUpdateFilter:
    """Drops an order state that is not newer than the last one passed on for that order.

    After a reconnect the same orders come from REST (open and recently closed) and from the
    stream, in either order; passing on an older state after a newer one is how a local order
    book drifts from the venue's. Remembers the last `capacity` orders.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._latest: OrderedDict[str, tuple[int, Decimal, int]] = OrderedDict()
        self.stale = 0

    def accept(self, order: Order) -> bool:
        """True if this state is newer than any passed on before for the same orderId."""
        progress = _progress(order)
        previous = self._latest.get(order.order_id)
        if previous is not None and progress <= previous:
            self.stale += 1
            return False
        self._latest[order.order_id] = progress
        self._latest.move_to_end(order.order_id)
        if len(self._latest) > self.capacity:
            self._latest.popitem(last=False)
        return True

    def select(self, orders: list[Order]) -> list[Order]:
        """The newer states among `orders`, oldest update first."""
        ordered = sorted(orders, key=_progress)
        return [order for order in ordered if self.accept(order)]

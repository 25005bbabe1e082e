"""Our orders at the venue, one symbol: the executor's planner against what the venue confirmed.

`OrderDesk` keeps the executor's view of each order (price, size, filled, whether an action is in
flight), asks the executor's planner (`plan_actions`) for the actions that reach a target, and
writes each as the venue request body the executor sends (`mm_bybit.order_requests`). Venue order
pushes update the view; a `New` push answering an amend is read as `OrderAmended`, as the
executor does. A create the venue refused, or killed because post-only would have crossed, is
not sent again for the same target: the executor retries a post-only kill on the next push,
which live is paced by latency but at zero latency would repeat forever at one instant. Client
order ids come from the executor's `ClientIdFactory` with a fixed boot time,
so they are the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from executor.client_ids import ClientIdFactory, color_of
from executor.planner import (
    Amend,
    Cancel,
    Create,
    TargetLevels,
    plan_unless_at_target,
    target_levels,
)
from mm_bybit.order_requests import amend_request, create_request
from mm_proto import (
    InstrumentDefinition,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderTarget,
    Side,
)

POST_ONLY_KILL = "EC_PostOnlyWillTakeLiquidity"


@dataclass(frozen=True, slots=True)
class Change:
    """An amend (a new price and/or size; None: unchanged) or a cancel of one of our orders,
    named by its client id: the values the venue's request body writes as decimals, which the
    backtest's venue takes as they are (`Venue.request`)."""

    symbol: str
    price_ticks: int | None = None
    size_lots: int | None = None


# verb, client order id, and the venue request body (a create's) or the change (amend, cancel)
Request = tuple[str, str, dict[str, Any] | Change]


class _Order:
    """One order as the planner reads it (`executor.planner.PlannedOrder`). The planner reads
    `leaves_lots` of every order on every plan, so it is kept up to date by `place` rather than
    computed on each read."""

    __slots__ = (
        "busy",
        "client_order_id",
        "filled_lots",
        "leaves_lots",
        "pending",
        "price_ticks",
        "side",
        "size_lots",
    )

    def __init__(self, client_order_id: str, side: Side, price_ticks: int, size_lots: int) -> None:
        self.client_order_id = client_order_id
        self.side = side
        self.filled_lots = 0
        self.place(price_ticks, size_lots)
        self.busy = True
        self.pending = "create"  # the action in flight: create, amend, cancel or ""

    def place(self, price_ticks: int, size_lots: int) -> None:
        """Set the order's price and total size (and so what it leaves)."""
        self.price_ticks = price_ticks
        self.size_lots = size_lots
        self.leaves_lots = max(0, size_lots - self.filled_lots)


class OrderDesk:
    """One symbol's orders, the last target, and the planner's next requests."""

    def __init__(self, grid: InstrumentDefinition, ids: ClientIdFactory) -> None:
        self.grid = grid
        self.ids = ids
        self.orders: dict[str, _Order] = {}
        self.target: OrderTarget | None = None
        self.levels = TargetLevels({}, {})  # the target's, as the planner reads it
        self.refused_levels = 0
        # Creates the venue refused or killed as post-only for the current target: not sent
        # again until the target changes (the executor keeps refused creates the same way).
        self.killed: set[tuple[Side, int, int]] = set()

    def plan(self, target: OrderTarget | None = None) -> list[Request]:
        """The requests reaching `target` (or the last one again); marks their orders busy."""
        if target is not None:
            self.target = target
            self.levels = target_levels(target, self.grid)
            self.killed.clear()
        if self.target is None:
            return []
        plan = plan_unless_at_target(self.orders.values(), self.target, self.grid, self.levels)
        self.refused_levels += len(plan.refused_levels)
        requests: list[Request] = []
        for action in plan.actions:
            if isinstance(action, Create) and self._was_killed(action):
                continue
            if isinstance(action, Create):
                cid = self.ids.next_id(action.color)
                self.orders[cid] = _Order(cid, action.side, action.price_ticks, action.size_lots)
                create = create_request(self.grid, action, cid)
                requests.append(("create", cid, msgspec.to_builtins(create)))
                continue
            order = self.orders[action.client_order_id]
            order.busy = True
            if isinstance(action, Amend):
                order.pending = "amend"
                # Where it is going, as the executor records an amend sent: the planner must
                # not hand the level it moves to to another order meanwhile.
                order.place(action.price_ticks, action.size_lots)
                price = action.price_ticks if action.price_changed else None
                size = action.size_lots if action.size_changed else None
                requests.append(
                    (
                        "amend",
                        action.client_order_id,
                        self._amend(action.client_order_id, price, size),
                    )
                )
            elif isinstance(action, Cancel):
                order.pending = "cancel"
                requests.append(("cancel", action.client_order_id, Change(self.grid.symbol)))
        return requests

    def _amend(self, cid: str, price: int | None, size: int | None) -> dict[str, Any] | Change:
        if (price is None or price >= 0) and (size is None or size >= 0):
            return Change(self.grid.symbol, price, size)
        # What the body cannot write: amend_request refuses it here, as the executor's would.
        amend = amend_request(self.grid, cid, price_ticks=price, size_lots=size)
        return dict(msgspec.to_builtins(amend))

    def _was_killed(self, action: Create) -> bool:
        return _was_killed_key(action) in self.killed

    def on_event(self, event: OrderEvent) -> OrderEvent | None:
        """Apply a venue order push; the event as the executor publishes it (None: not ours)."""
        cid = event.client_order_id
        order = self.orders.get(cid)
        if order is None:
            return None
        event = msgspec.structs.replace(event, color=color_of(cid))
        wanted = (order.price_ticks, order.size_lots)
        amending = order.pending == "amend"
        if isinstance(event, OrderAccepted):
            if amending and (event.price_ticks, event.size_lots) == wanted:
                event = OrderAmended(**msgspec.structs.asdict(event))
            order.place(event.price_ticks, event.size_lots)
        elif isinstance(event, OrderFilled):
            order.filled_lots = event.filled_lots
            order.place(event.price_ticks, event.size_lots)
            if event.leaves_lots <= 0:
                del self.orders[cid]
                return event
        if amending and (order.price_ticks, order.size_lots) != wanted:
            # A push from before our amend (a fill): keep waiting for the amend's own push.
            order.place(*wanted)
            return event
        elif isinstance(event, OrderCancelled | OrderRejected):
            if event.reason == POST_ONLY_KILL and order.filled_lots == 0:
                self.killed.add((order.side, order.price_ticks, order.size_lots))
            del self.orders[cid]
            return event
        order.busy, order.pending = False, ""
        return event

    def on_refusal(self, verb: str, cid: str, reason: str, ts_ns: int) -> OrderRejected | None:
        """The venue refused a request: a refused create is gone (and a reject), a refused amend
        or cancel leaves the order as the venue still has it (its next push corrects us)."""
        order = self.orders.get(cid)
        if order is None:
            return None
        if verb != "create":
            order.busy, order.pending = False, ""
            return None
        self.killed.add((order.side, order.price_ticks, order.size_lots))
        del self.orders[cid]
        return OrderRejected(
            venue=self.grid.venue,
            category=self.grid.category,
            symbol=self.grid.symbol,
            client_order_id=cid,
            venue_order_id="",
            side=order.side,
            price_ticks=order.price_ticks,
            size_lots=order.size_lots,
            ts_event_ns=ts_ns,
            reason=reason,
            color=color_of(cid),
        )


def _was_killed_key(action: Create) -> tuple[Side, int, int]:
    return (action.side, action.price_ticks, action.size_lots)

"""The executor's view of its live orders on one symbol, and what each venue answer or push means.

States: `PENDING_NEW`, `PENDING_AMEND` and `PENDING_CANCEL` while a request is in flight; `LIVE`
once the venue confirmed; `UNCONFIRMED` when a request's outcome is unknown (timeout, dropped
connection), until a push or a query settles it. The venue's `order` stream is the truth: a push
overrides whatever we expected, a push older than what we know is ignored, and an order that
reached a final state is remembered so a late push or ack never brings it back. Races handled
here: a fill during an amend or cancel (the push wins), a cancel or amend of an order that is
already gone (remove it and let the push or the next reconciliation say how it ended), a
post-only kill (a `Cancelled` push with no `New` before it).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from mm_bybit.pushes import VenueOrder
from mm_proto import Side


class OrderState(enum.Enum):
    PENDING_NEW = "pending_new"
    PENDING_AMEND = "pending_amend"
    PENDING_CANCEL = "pending_cancel"
    LIVE = "live"
    UNCONFIRMED = "unconfirmed"


class PushMeaning(enum.Enum):
    """How a venue order push relates to what we knew."""

    ACCEPTED = "accepted"
    AMENDED = "amended"
    FILLED = "filled"
    FINISHED = "finished"  # cancelled, rejected or fully filled: the order is gone
    STALE = "stale"  # older than what we know, or about an order already finished


@dataclass
class TrackedOrder:
    """One order we own: what we expect it to be, and what the venue last confirmed."""

    client_order_id: str
    side: Side
    price_ticks: int
    size_lots: int
    state: OrderState
    since_s: float  # monotonic time the current state began
    venue_order_id: str = ""
    filled_lots: int = 0
    updated_ms: int = 0
    confirmed_price_ticks: int = -1
    confirmed_size_lots: int = -1

    @property
    def busy(self) -> bool:
        """An action is in flight or the venue has not confirmed the state (see the planner)."""
        return self.state is not OrderState.LIVE

    @property
    def leaves_lots(self) -> int:
        return max(0, self.size_lots - self.filled_lots)

    def snapshot(self) -> TrackedOrder:
        """A copy, as `dataclasses.replace(self)` makes one, without running `__init__` again
        (the planner takes one of every order for every plan)."""
        copied = object.__new__(TrackedOrder)
        copied.__dict__.update(self.__dict__)
        return copied


@dataclass
class ReconcileReport:
    """What a reconciliation with the venue's open orders changed in our view."""

    symbol: str
    adopted: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign: list[VenueOrder] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "adopted": self.adopted,
            "corrected": self.corrected,
            "removed": self.removed,
            "foreign": [order.venue_order_id for order in self.foreign],
        }


class OwnOrders:
    """Every order one executor owns on one symbol."""

    def __init__(self, symbol: str, finished_capacity: int = 10_000) -> None:
        self.symbol = symbol
        self.orders: dict[str, TrackedOrder] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._finished_capacity = finished_capacity
        self._adopted_by_push: list[str] = []

    def live_orders(self) -> list[TrackedOrder]:
        """Snapshots of our orders, for the planner (it never sees them change under it)."""
        return [order.snapshot() for order in self.orders.values()]

    def is_finished(self, client_order_id: str) -> bool:
        return client_order_id in self._finished

    def _finish(self, client_order_id: str) -> None:
        self.orders.pop(client_order_id, None)
        self._finished[client_order_id] = None
        if len(self._finished) > self._finished_capacity:
            self._finished.popitem(last=False)

    def _set(self, client_order_id: str, state: OrderState, now_s: float) -> TrackedOrder | None:
        order = self.orders.get(client_order_id)
        if order is not None:
            order.state = state
            order.since_s = now_s
        return order

    def create_sent(
        self, client_order_id: str, side: Side, price: int, size: int, now_s: float
    ) -> None:
        self.orders[client_order_id] = TrackedOrder(
            client_order_id, side, price, size, OrderState.PENDING_NEW, now_s
        )

    def amend_sent(self, client_order_id: str, price: int, size: int, now_s: float) -> None:
        order = self._set(client_order_id, OrderState.PENDING_AMEND, now_s)
        if order is not None:
            order.price_ticks, order.size_lots = price, size

    def cancel_sent(self, client_order_id: str, now_s: float) -> None:
        self._set(client_order_id, OrderState.PENDING_CANCEL, now_s)

    def acknowledged(self, client_order_id: str, venue_order_id: str, now_s: float) -> None:
        """The venue accepted the request. The order stays busy until a push shows the result
        (a push older than the request must not make the planner act on the old values)."""
        order = self.orders.get(client_order_id)
        if order is not None and venue_order_id:
            order.venue_order_id = venue_order_id

    def refused(self, client_order_id: str, now_s: float) -> None:
        """The venue refused the request outright: a create never existed; others are unchanged."""
        order = self.orders.get(client_order_id)
        if order is None:
            return
        if order.state is OrderState.PENDING_NEW:
            self._finish(client_order_id)
            return
        if order.confirmed_price_ticks >= 0:
            order.price_ticks = order.confirmed_price_ticks
            order.size_lots = order.confirmed_size_lots
        order.state, order.since_s = OrderState.LIVE, now_s

    def gone(self, client_order_id: str) -> None:
        """The venue says the order is not open (filled or cancelled already)."""
        self._finish(client_order_id)

    def unknown_outcome(self, client_order_id: str, now_s: float) -> None:
        """No answer: the request may or may not have acted; wait for a push or a query."""
        self._set(client_order_id, OrderState.UNCONFIRMED, now_s)

    def unconfirmed_since(self, before_s: float) -> list[str]:
        """Orders not confirmed by the venue since before `before_s` (unknown outcome, or an
        acknowledged request whose push never came): ask the venue about these."""
        return [
            order.client_order_id
            for order in self.orders.values()
            if order.state is not OrderState.LIVE and order.since_s < before_s
        ]

    def apply_push(
        self, venue: VenueOrder, now_s: float, owned: bool, authoritative: bool = False
    ) -> PushMeaning:
        """Apply one venue order push for an order we own (or adopt); say what it meant.

        `authoritative` marks an answer to our own query: it settles a pending request."""
        key = venue.client_order_id
        if self.is_finished(key):
            # A final push after we dropped the order (say 110001 on cancel) is still news.
            return PushMeaning.FINISHED if venue.final else PushMeaning.STALE
        order = self.orders.get(key)
        if order is not None and venue.updated_ms < order.updated_ms:
            return PushMeaning.STALE
        if venue.final:
            self._finish(key)
            return PushMeaning.FINISHED
        if order is None:
            if not owned:
                return PushMeaning.STALE
            order = self._adopt(venue, now_s)
            self._adopted_by_push.append(key)
            meaning = PushMeaning.ACCEPTED
        else:
            meaning = _meaning(order, venue)
        wanted = (order.price_ticks, order.size_lots)
        pending_amend = order.state is OrderState.PENDING_AMEND
        _confirm(order, venue)
        if pending_amend and not authoritative and wanted != (venue.price_ticks, venue.size_lots):
            # A push from before our amend: keep waiting for the amend's own push.
            order.price_ticks, order.size_lots = wanted
        elif order.state is not OrderState.PENDING_CANCEL or authoritative:
            order.state, order.since_s = OrderState.LIVE, now_s
        return meaning

    def _adopt(self, venue: VenueOrder, now_s: float) -> TrackedOrder:
        order = TrackedOrder(
            venue.client_order_id,
            venue.side,
            venue.price_ticks,
            venue.size_lots,
            OrderState.LIVE,
            now_s,
        )
        self.orders[venue.client_order_id] = order
        return order

    def compare(
        self, open_orders: list[VenueOrder], is_own: Callable[[str], bool]
    ) -> ReconcileReport:
        """What the venue's open orders disagree with in our view, changing nothing: an order
        counts as corrected when its price, size or filled quantity differ (a request in flight
        is not itself a disagreement; its push settles it)."""
        report = ReconcileReport(self.symbol, adopted=list(self._adopted_by_push))
        seen: set[str] = set()
        for venue in open_orders:
            if not is_own(venue.client_order_id):
                report.foreign.append(venue)
                continue
            seen.add(venue.client_order_id)
            order = self.orders.get(venue.client_order_id)
            if order is None:
                report.adopted.append(venue.client_order_id)
            elif _differs(order, venue):
                report.corrected.append(venue.client_order_id)
        report.removed = [key for key in self.orders if key not in seen]
        return report

    def reconcile(
        self, open_orders: list[VenueOrder], now_s: float, is_own: Callable[[str], bool]
    ) -> ReconcileReport:
        """Adopt the venue's open orders as truth; `is_own` says which client ids we manage."""
        # Orders a push introduced since the last reconciliation were adopted too.
        report = ReconcileReport(self.symbol, adopted=self._adopted_by_push)
        self._adopted_by_push = []
        seen: set[str] = set()
        for venue in open_orders:
            if not is_own(venue.client_order_id):
                report.foreign.append(venue)
                continue
            seen.add(venue.client_order_id)
            order = self.orders.get(venue.client_order_id)
            if order is None:
                self._finished.pop(venue.client_order_id, None)
                order = self._adopt(venue, now_s)
                report.adopted.append(venue.client_order_id)
            elif _differs(order, venue) or order.state is not OrderState.LIVE:
                report.corrected.append(venue.client_order_id)
            _confirm(order, venue)
            order.state, order.since_s = OrderState.LIVE, now_s
        for key in [key for key in self.orders if key not in seen]:
            report.removed.append(key)
            self._finish(key)
        return report


def _differs(order: TrackedOrder, venue: VenueOrder) -> bool:
    """Whether the venue's open order disagrees with ours in price, size or filled quantity."""
    return (order.price_ticks, order.size_lots, order.filled_lots) != (
        venue.price_ticks,
        venue.size_lots,
        venue.filled_lots,
    )


def _meaning(order: TrackedOrder, venue: VenueOrder) -> PushMeaning:
    if venue.filled_lots > order.filled_lots:
        return PushMeaning.FILLED
    if order.confirmed_price_ticks >= 0 and (
        venue.price_ticks != order.confirmed_price_ticks
        or venue.size_lots != order.confirmed_size_lots
    ):
        return PushMeaning.AMENDED
    return PushMeaning.ACCEPTED


def _confirm(order: TrackedOrder, venue: VenueOrder) -> None:
    order.venue_order_id = venue.venue_order_id or order.venue_order_id
    order.price_ticks = order.confirmed_price_ticks = venue.price_ticks
    order.size_lots = order.confirmed_size_lots = venue.size_lots
    order.filled_lots = venue.filled_lots
    order.updated_ms = max(order.updated_ms, venue.updated_ms)

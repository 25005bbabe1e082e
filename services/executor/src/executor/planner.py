"""The order planner: the fewest venue actions that turn one symbol's live orders into a target.

Per side, live orders already resting at a wanted price keep their place in the queue (only their
size is amended when it differs); the remaining live orders and wanted levels are paired best
price first and amended in place; live orders left over are cancelled and levels left over are
created. An order with an action in flight (or whose state the venue has not confirmed) is never
given a second action: it is left alone but keeps its place in the matching (the level it rests
at or is paired with counts as covered), so a slow create or amend never leads to a second order
beside it; once the venue confirms it, the next pass moves it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from executor.client_ids import color_of
from mm_proto import DEFAULT_COLOR, InstrumentDefinition, OrderTarget, QuoteLevel, Side

TIME_IN_FORCE_WORDS = frozenset({"post_only", "ioc"})


class PlannedOrder(Protocol):
    """What the planner reads of one of our orders (`own_orders.TrackedOrder` is one)."""

    client_order_id: str
    side: Side
    price_ticks: int
    size_lots: int  # the order's total quantity
    filled_lots: int

    @property
    def leaves_lots(self) -> int: ...

    @property
    def busy(self) -> bool: ...  # an action is in flight or the venue has not confirmed it


@dataclass(frozen=True)
class Create:
    """Place a new limit order (post-only unless the target asks otherwise)."""

    side: Side
    price_ticks: int
    size_lots: int
    reduce_only: bool = False
    time_in_force: str = "post_only"  # the contract's word; mm_bybit spells it for the venue
    color: str = DEFAULT_COLOR  # the target's color, written into the new client order id


@dataclass(frozen=True)
class Amend:
    """Change an order in place; `size_lots` is the new total (filled + wanted remaining)."""

    client_order_id: str
    side: Side
    price_ticks: int
    size_lots: int
    price_changed: bool
    size_changed: bool


@dataclass(frozen=True)
class Cancel:
    """Cancel an order."""

    client_order_id: str
    side: Side


Action = Create | Amend | Cancel


@dataclass(frozen=True)
class VenueRules:
    """What the venue allows when amending; Bybit linear allows a larger qty, some products not."""

    allow_size_increase: bool = True


@dataclass
class Plan:
    """The actions for one target, cancels first, and the target levels that were refused."""

    actions: list[Action] = field(default_factory=list)
    refused_levels: list[str] = field(default_factory=list)

    @property
    def cancels(self) -> list[Cancel]:
        return [action for action in self.actions if isinstance(action, Cancel)]

    @property
    def amends(self) -> list[Amend]:
        return [action for action in self.actions if isinstance(action, Amend)]

    @property
    def creates(self) -> list[Create]:
        return [action for action in self.actions if isinstance(action, Create)]


_ORDER_OF_KIND: dict[type, int] = {Cancel: 0, Amend: 1, Create: 2}


@dataclass(frozen=True)
class TargetLevels:
    """A target as the planner reads it: the size wanted at each price per side (levels at one
    price merged, sizes the venue would refuse dropped) and the reasons for what was refused.
    It depends on the target and the instrument only, so a caller that plans one target again
    after every push computes it once (`target_levels`) and passes it to each plan."""

    bids: dict[int, int]
    asks: dict[int, int]
    refused: tuple[str, ...] = ()
    # The whole target is refused (an unknown time in force, a crossed ladder): nothing is
    # planned for it, whatever the orders.
    refused_whole: bool = False


def target_levels(target: OrderTarget, instrument: InstrumentDefinition) -> TargetLevels:
    """The levels `plan_actions` plans `target` towards, and what it refuses of them."""
    if target.cancel_all:
        return TargetLevels({}, {})
    if target.time_in_force not in TIME_IN_FORCE_WORDS:
        reason = (
            f"time_in_force must be one of {sorted(TIME_IN_FORCE_WORDS)}, "
            f"was {target.time_in_force!r}"
        )
        return TargetLevels({}, {}, (reason,), refused_whole=True)
    refused: list[str] = []
    bids = _wanted_levels(Side.BUY, target.bids, instrument, refused)
    asks = _wanted_levels(Side.SELL, target.asks, instrument, refused)
    if bids and asks:
        best_bid, best_ask = max(bids), min(asks)
        if best_bid >= best_ask:
            # A crossed target is bad input: keep the orders as they are rather than guess.
            refused.append(
                f"target must not cross: best bid {best_bid} ticks >= best ask {best_ask} ticks"
            )
            return TargetLevels(bids, asks, tuple(refused), refused_whole=True)
    return TargetLevels(bids, asks, tuple(refused))


def plan_actions(
    live_orders: Iterable[PlannedOrder],
    target: OrderTarget,
    instrument: InstrumentDefinition,
    rules: VenueRules = VenueRules(),
    reduce_only_ids: Collection[str] = (),
    levels: TargetLevels | None = None,
) -> Plan:
    """Plan the venue actions that make `live_orders` rest exactly as `target` asks.

    `reduce_only_ids` are the live orders placed reduce-only: an order of the other kind than
    the target's is cancelled, never amended into it (a quote never becomes a flatten order).
    Likewise an order of another color than the target's (a canary rollout moved the symbol) is
    cancelled and replaced, never amended: its id, and so its fills, would name the old color.
    `levels` is `target_levels(target, instrument)` when the caller kept it."""
    plan = Plan()
    orders = list(live_orders)
    if target.cancel_all:
        plan.actions = [Cancel(order.client_order_id, order.side) for order in orders]
        return plan
    if levels is None:
        levels = target_levels(target, instrument)
    plan.refused_levels.extend(levels.refused)
    if levels.refused_whole:
        return plan
    other_kind = [
        o
        for o in orders
        if (o.client_order_id in reduce_only_ids) != target.reduce_only
        or color_of(o.client_order_id) != target.color
    ]
    if other_kind:
        orders = [order for order in orders if order not in other_kind]
    for side, side_wanted in ((Side.BUY, levels.bids), (Side.SELL, levels.asks)):
        side_orders = [order for order in orders if order.side is side]
        plan.actions.extend(_plan_side(side, side_orders, side_wanted, rules))
    plan.actions.extend(Cancel(o.client_order_id, o.side) for o in other_kind if not o.busy)
    # The creates above carry Create's defaults (not reduce-only, post_only): rewritten only
    # when the target asks for something else.
    if target.reduce_only or target.time_in_force != "post_only":
        plan.actions = [
            replace(action, reduce_only=target.reduce_only, time_in_force=target.time_in_force)
            if isinstance(action, Create)
            else action
            for action in plan.actions
        ]
    plan.actions.sort(key=lambda action: _ORDER_OF_KIND[type(action)])
    if target.color != DEFAULT_COLOR:
        plan.actions = [
            replace(action, color=target.color) if isinstance(action, Create) else action
            for action in plan.actions
        ]
    return plan


def at_target(
    live_orders: Collection[PlannedOrder],
    target: OrderTarget,
    levels: TargetLevels,
    reduce_only_ids: Collection[str] = (),
) -> bool:
    """True when `plan_actions` would plan no action: a test much cheaper than planning, for
    the common case of a target already reached (a push that only confirms an action).

    It holds when every order is of the target's kind and color and rests alone at a wanted
    price of its side, every wanted price has one, and every order not busy leaves exactly the
    wanted size there. False does not say there is something to do: plan to find out."""
    if target.cancel_all:
        return not live_orders
    if levels.refused_whole:
        return True
    bids, asks = levels.bids, levels.asks
    if len(live_orders) != len(bids) + len(asks):
        return False
    buy = Side.BUY
    bid_prices: set[int] = set()
    ask_prices: set[int] = set()
    for order in live_orders:
        price = order.price_ticks
        wanted, seen = (bids, bid_prices) if order.side is buy else (asks, ask_prices)
        size = wanted.get(price)
        if size is None or price in seen:
            return False
        if not order.busy and order.leaves_lots != size:
            return False
        cid = order.client_order_id
        if (cid in reduce_only_ids) != target.reduce_only or color_of(cid) != target.color:
            return False
        seen.add(price)
    return True


def plan_unless_at_target(
    live_orders: Collection[PlannedOrder],
    target: OrderTarget,
    instrument: InstrumentDefinition,
    levels: TargetLevels,
    rules: VenueRules = VenueRules(),
    reduce_only_ids: Collection[str] = (),
) -> Plan:
    """`plan_actions` for a caller that plans one target again after every push (the executor's
    symbol worker, the backtest's desk): most such plans follow a push that only confirmed an
    action, and `at_target` tells so in one pass; the target's refused levels are still given."""
    if at_target(live_orders, target, levels, reduce_only_ids):
        return Plan(refused_levels=list(levels.refused))
    return plan_actions(live_orders, target, instrument, rules, reduce_only_ids, levels)


def _wanted_levels(
    side: Side,
    levels: Sequence[QuoteLevel],
    instrument: InstrumentDefinition,
    refused: list[str],
) -> dict[int, int]:
    """Price -> wanted size, levels at one price merged; sizes the venue would refuse dropped."""
    wanted: dict[int, int] = {}
    for level in levels:
        if level.size_lots <= 0 or level.price_ticks <= 0:
            refused.append(
                f"{side.value} level must have positive price and size, was "
                f"{level.price_ticks} ticks x {level.size_lots} lots"
            )
            continue
        wanted[level.price_ticks] = wanted.get(level.price_ticks, 0) + level.size_lots
    for price, size in list(wanted.items()):
        if not instrument.min_qty_lots <= size <= instrument.max_qty_lots:
            refused.append(
                f"{side.value} size at {price} ticks must be {instrument.min_qty_lots}.."
                f"{instrument.max_qty_lots} lots, was {size}"
            )
            del wanted[price]
    return wanted


def _price_of(order: PlannedOrder) -> int:
    return order.price_ticks


def _plan_side(
    side: Side, orders: list[PlannedOrder], wanted: dict[int, int], rules: VenueRules
) -> list[Action]:
    remaining = dict(wanted)
    actions: list[Action] = []
    unmatched: list[PlannedOrder] = []
    # Busy orders first, so a level they cover is not also given to a free order.
    for order in sorted(orders, key=lambda item: not item.busy):
        if order.price_ticks not in remaining:
            unmatched.append(order)
            continue
        size = remaining.pop(order.price_ticks)
        if not order.busy:
            actions.extend(_resize(order, order.price_ticks, size, rules))
    # Best price first: highest bid, lowest ask (a reverse sort keeps ties in order, as a
    # stable sort on the negated price does).
    best_first = side is Side.BUY
    levels = sorted(remaining.items(), reverse=best_first)
    unmatched.sort(key=_price_of, reverse=best_first)
    # A busy order still takes its place in the pairing (it is amended once settled), so a
    # level is never created beside an order that will move there anyway.
    for order, (price, size) in zip(unmatched, levels, strict=False):
        if not order.busy:
            actions.extend(_resize(order, price, size, rules))
    if len(unmatched) > len(levels):
        actions.extend(
            Cancel(o.client_order_id, side) for o in unmatched[len(levels) :] if not o.busy
        )
    elif len(levels) > len(unmatched):
        actions.extend(Create(side, price, size) for price, size in levels[len(unmatched) :])
    return actions


def _resize(order: PlannedOrder, price: int, size: int, rules: VenueRules) -> list[Action]:
    """Amend `order` to rest `size` lots at `price`; nothing if it already does."""
    price_changed = price != order.price_ticks
    size_changed = size != order.leaves_lots
    if not price_changed and not size_changed:
        return []
    if size_changed and size > order.leaves_lots and not rules.allow_size_increase:
        return [Cancel(order.client_order_id, order.side), Create(order.side, price, size)]
    return [
        Amend(
            client_order_id=order.client_order_id,
            side=order.side,
            price_ticks=price,
            size_lots=order.filled_lots + size,
            price_changed=price_changed,
            size_changed=size_changed,
        )
    ]

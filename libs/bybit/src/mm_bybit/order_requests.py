"""Order-entry request bodies, shared by REST and the trade WebSocket so both send the same.

`create_request`, `amend_request` and `cancel_request` build them from the library's terms
(sides, ticks, lots, the contract's time-in-force words), so no caller spells the venue's.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from mm_bybit.convert import venue_time_in_force
from mm_proto import InstrumentDefinition, Side


class CreateOrder(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, kw_only=True):
    """Body of POST /v5/order/create and args of `order.create`; prices and sizes as decimals."""

    category: str
    symbol: str
    side: str
    order_type: str
    qty: str
    price: str | None = None
    time_in_force: str | None = None
    order_link_id: str | None = None
    reduce_only: bool | None = None
    position_idx: int | None = None


class AmendOrder(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, kw_only=True):
    """Body of POST /v5/order/amend: name the order by id or link id; omit what stays."""

    category: str
    symbol: str
    order_id: str | None = None
    order_link_id: str | None = None
    qty: str | None = None
    price: str | None = None


class CancelOrder(msgspec.Struct, rename="camel", omit_defaults=True, frozen=True, kw_only=True):
    """Body of POST /v5/order/cancel: name the order by id or link id."""

    category: str
    symbol: str
    order_id: str | None = None
    order_link_id: str | None = None


OrderRequest = CreateOrder | AmendOrder | CancelOrder

# The batch endpoints repeat `category` at the top level and take it out of each item.
_BATCH_ITEM_EXCLUDE = frozenset({"category"})

OPERATION_PATHS: dict[type[msgspec.Struct], str] = {
    CreateOrder: "/v5/order/create",
    AmendOrder: "/v5/order/amend",
    CancelOrder: "/v5/order/cancel",
}
BATCH_PATHS: dict[type[msgspec.Struct], str] = {
    CreateOrder: "/v5/order/create-batch",
    AmendOrder: "/v5/order/amend-batch",
    CancelOrder: "/v5/order/cancel-batch",
}
WEBSOCKET_OPERATIONS: dict[type[msgspec.Struct], str] = {
    CreateOrder: "order.create",
    AmendOrder: "order.amend",
    CancelOrder: "order.cancel",
}
BATCH_LIMITS: dict[str, int] = {"linear": 20, "inverse": 20, "option": 20, "spot": 10}


_VENUE_SIDES = {Side.BUY: "Buy", Side.SELL: "Sell"}
# The venue's limit on a client order id (orderLinkId): 36 characters of [A-Za-z0-9_-].
CLIENT_ORDER_ID_MAX_LENGTH = 36


class NewOrder(Protocol):
    """A limit order to place, as the caller plans it (the executor's `Create` is one)."""

    @property
    def side(self) -> Side: ...
    @property
    def price_ticks(self) -> int: ...
    @property
    def size_lots(self) -> int: ...
    @property
    def reduce_only(self) -> bool: ...
    @property
    def time_in_force(self) -> str: ...  # the contract's word: post_only or ioc


def batch_limit(category: str) -> int:
    """How many requests one batch of this category may hold."""
    return BATCH_LIMITS.get(category, 10)


def create_request(
    instrument: InstrumentDefinition, order: NewOrder, client_order_id: str
) -> CreateOrder:
    """The body placing `order`; ConversionError for a time-in-force the venue has no word for."""
    return CreateOrder(
        category=instrument.category,
        symbol=instrument.symbol,
        side=_VENUE_SIDES[order.side],
        order_type="Limit",
        qty=instrument.lots_to_qty(order.size_lots),
        price=instrument.ticks_to_price(order.price_ticks),
        time_in_force=venue_time_in_force(order.time_in_force),
        order_link_id=client_order_id,
        reduce_only=True if order.reduce_only else None,
    )


def amend_request(
    instrument: InstrumentDefinition,
    client_order_id: str,
    *,
    price_ticks: int | None = None,
    size_lots: int | None = None,
) -> AmendOrder:
    """Change one of our orders; what is None stays as it is."""
    return AmendOrder(
        category=instrument.category,
        symbol=instrument.symbol,
        order_link_id=client_order_id,
        price=None if price_ticks is None else instrument.ticks_to_price(price_ticks),
        qty=None if size_lots is None else instrument.lots_to_qty(size_lots),
    )


def cancel_request(
    instrument: InstrumentDefinition,
    *,
    client_order_id: str | None = None,
    venue_order_id: str | None = None,
) -> CancelOrder:
    """Cancel an order named by our client id or by the venue's id."""
    return CancelOrder(
        category=instrument.category,
        symbol=instrument.symbol,
        order_id=venue_order_id,
        order_link_id=client_order_id,
    )


def validate_target(request: OrderRequest) -> None:
    """Amend and cancel must name the order; refuse before anything is sent."""
    if isinstance(request, AmendOrder | CancelOrder) and not (
        request.order_id or request.order_link_id
    ):
        raise ValueError(
            f"{type(request).__name__} needs order_id or order_link_id, received neither "
            f"(symbol {request.symbol})"
        )


def batch_body(requests: list[OrderRequest]) -> dict[str, object]:
    """Build `{"category", "request":[...]}` for one batch of requests of one kind and category."""
    if not requests:
        raise ValueError("a batch needs at least one request, received none")
    kinds = {type(request) for request in requests}
    categories = {request.category for request in requests}
    if len(kinds) != 1 or len(categories) != 1:
        raise ValueError(
            "a batch must hold one kind of request in one category, received "
            f"{sorted(kind.__name__ for kind in kinds)} in {sorted(categories)}"
        )
    category = requests[0].category
    limit = BATCH_LIMITS.get(category, 10)
    if len(requests) > limit:
        raise ValueError(f"a {category} batch holds at most {limit} requests, was {len(requests)}")
    items = []
    for request in requests:
        validate_target(request)
        item = msgspec.to_builtins(request)
        items.append({key: value for key, value in item.items() if key not in _BATCH_ITEM_EXCLUDE})
    return {"category": category, "request": items}

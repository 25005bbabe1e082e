"""Signed list queries: `/v5/order/realtime`, `/v5/order/history` and `/v5/execution/list`.

Each honours the filters Bybit documents for it and pages with `limit` and an opaque cursor
(`mm_sim.paging`); rows come newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mm_sim.errors import parameter_error
from mm_sim.orders import Order
from mm_sim.paging import page_newest_first, parse_limit, time_window
from mm_sim.venue import Venue

CATEGORIES = ("linear", "spot")
ORDER_STATUSES = frozenset(
    {
        "New",
        "PartiallyFilled",
        "Untriggered",
        "Rejected",
        "Filled",
        "Deactivated",
        "Triggered",
        "Cancelled",
        "PartiallyFilledCanceled",
    }
)
ORDER_FILTERS = ("Order", "StopOrder", "tpslOrder", "OcoOrder", "BidirectionalTpslOrder")
EXEC_TYPES = frozenset(
    {
        "Trade",
        "AdlTrade",
        "Funding",
        "BustTrade",
        "Delivery",
        "Settle",
        "BlockTrade",
        "MovePosition",
        "FutureSpread",
        "CorporateAction",
        "UNKNOWN",
    }
)


def _category(params: dict[str, Any]) -> str:
    category = params.get("category", "")
    if not category:
        raise parameter_error("category is required")
    if category not in CATEGORIES:
        raise parameter_error(f"category must be linear or spot, received {category!r}")
    return str(category)


def _text(params: dict[str, Any], name: str) -> str:
    return str(params.get(name, "") or "")


def _order_filter(params: dict[str, Any]) -> str:
    """Every order here is a plain one (no conditional or TP/SL orders are accepted)."""
    value = _text(params, "orderFilter")
    if value and value not in ORDER_FILTERS:
        raise parameter_error(
            f"orderFilter must be one of {list(ORDER_FILTERS)}, received {value!r}"
        )
    return value or "Order"


def _scope_matches(order: Order, params: dict[str, Any], category: str) -> bool:
    config = order.instrument.config
    symbol, settle, base = (_text(params, n) for n in ("symbol", "settleCoin", "baseCoin"))
    return (
        config.category == category
        and (not symbol or config.symbol == symbol)
        and (not settle or config.quote_coin == settle)
        and (not base or config.base_coin == base)
    )


def _by_id(order: Order, params: dict[str, Any]) -> bool:
    order_id, link_id = _text(params, "orderId"), _text(params, "orderLinkId")
    if order_id:
        return order.order_id == order_id
    return not link_id or order.order_link_id == link_id


def _order_page(
    venue: Venue, uid: int, params: dict[str, Any], category: str, keep: Callable[[Order], bool]
) -> dict[str, Any]:
    limit = parse_limit(params, 20, 50)
    orders = list(venue.exchange.accounts[uid].orders.values())
    if _order_filter(params) != "Order":
        orders = []

    def wanted(order: Order) -> bool:
        return _scope_matches(order, params, category) and _by_id(order, params) and keep(order)

    rows, cursor = page_newest_first(orders, wanted, params, "order", limit)
    return {"category": category, "list": [o.record() for o in rows], "nextPageCursor": cursor}


def realtime(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Open orders, or (openOnly=1) the last 500 closed ones; an id lookup ignores openOnly."""
    category = _category(params)
    symbol, settle, base = (_text(params, n) for n in ("symbol", "settleCoin", "baseCoin"))
    by_id = bool(_text(params, "orderId") or _text(params, "orderLinkId"))
    if category == "linear" and not (symbol or settle or base or by_id):
        raise parameter_error("symbol, baseCoin or settleCoin is required for linear")
    open_only = _text(params, "openOnly") or "0"
    if open_only not in ("0", "1", "2"):
        raise parameter_error(f"openOnly must be 0, 1 or 2, received {open_only!r}")
    recent_closed = set(map(id, venue.exchange.accounts[uid].closed))
    if by_id:
        keep = lambda order: order.is_open or id(order) in recent_closed  # noqa: E731
    elif open_only == "0":
        keep = lambda order: order.is_open  # noqa: E731
    else:
        keep = lambda order: id(order) in recent_closed  # noqa: E731
    return _order_page(venue, uid, params, category, keep)


def history(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Orders since start (open and closed), filtered by status and creation time."""
    category = _category(params)
    status = _text(params, "orderStatus")
    if status and status not in ORDER_STATUSES:
        raise parameter_error(f"orderStatus invalid {status!r}")
    by_id = bool(_text(params, "orderId") or _text(params, "orderLinkId"))
    start, end = time_window(params, venue.clock.now_ms())

    def keep(order: Order) -> bool:
        in_window = by_id or start <= order.created_ms <= end
        return in_window and (not status or order.status == status)

    return _order_page(venue, uid, params, category, keep)


def execution_list(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """The account's executions, filtered as documented; limit 1-100 (default 50)."""
    category = _category(params)
    limit = parse_limit(params, 50, 100)
    symbol, base = _text(params, "symbol"), _text(params, "baseCoin")
    order_id, link_id = _text(params, "orderId"), _text(params, "orderLinkId")
    exec_type = _text(params, "execType")
    if exec_type and exec_type not in EXEC_TYPES:
        raise parameter_error(f"execType invalid {exec_type!r}")
    start, end = time_window(params, venue.clock.now_ms())
    bases = {
        state.instrument.symbol: state.instrument.config.base_coin
        for state in venue.exchange.symbols.values()
    }

    def keep(row: dict[str, Any]) -> bool:
        # Rows of every execType (funding included) are read with defaults, never by bare key.
        return (
            row.get("category") == category
            and (not symbol or row.get("symbol") == symbol)
            and (not base or bases.get(str(row.get("symbol"))) == base)
            and (not order_id or row.get("orderId") == order_id)
            and (not link_id or row.get("orderLinkId") == link_id)
            and (not exec_type or row.get("execType", "Trade") == exec_type)
            and start <= int(row.get("execTime") or 0) <= end
        )

    rows = venue.exchange.accounts[uid].executions
    found, cursor = page_newest_first(rows, keep, params, "exec", limit)
    return {"category": category, "list": found, "nextPageCursor": cursor}

"""Signed REST handlers under /v5/order: single and batch create/amend/cancel, queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mm_sim import errors
from mm_sim.errors import BybitError, parameter_error
from mm_sim.orders import Order
from mm_sim.rate_limit import Quota
from mm_sim.venue import Venue

BATCH_LIMITS = {"linear": 20, "spot": 10}


def create(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    return venue.entry.create(uid, params)


def amend(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    return venue.changes.amend(uid, params)


def cancel(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    return venue.changes.cancel(uid, params)


def cancel_all(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    return venue.changes.cancel_all(uid, params)


def run_batch(
    venue: Venue,
    uid: int,
    params: dict[str, Any],
    granted: int,
    with_create_time: bool,
    action: Callable[[int, dict[str, Any]], dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run each item on its own; items past the granted quota fail with 10006."""
    category = params.get("category", "")
    items = params.get("request")
    if category not in BATCH_LIMITS:
        raise parameter_error(f"category must be linear or spot, received {category!r}")
    if not isinstance(items, list) or not items:
        raise parameter_error("request must be a non-empty list of orders")
    if len(items) > BATCH_LIMITS[str(category)]:
        raise parameter_error(
            f"request may hold at most {BATCH_LIMITS[str(category)]} orders, received {len(items)}"
        )
    rows: list[dict[str, Any]] = []
    codes: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        item_params = (item if isinstance(item, dict) else {}) | {"category": category}
        row = {
            "category": category,
            "symbol": str(item_params.get("symbol", "")),
            "orderId": "",
            "orderLinkId": str(item_params.get("orderLinkId", "")),
        }
        try:
            if index >= granted:
                raise BybitError(errors.TOO_MANY_VISITS)
            if not isinstance(item, dict):
                raise parameter_error(
                    f"each request item must be an object, received {type(item).__name__}"
                )
            row |= action(uid, item_params)
            codes.append({"code": 0, "msg": "OK"})
        except BybitError as error:
            codes.append({"code": error.code, "msg": error.message})
        if with_create_time:
            row["createAt"] = str(venue.clock.now_ms()) if row["orderId"] else ""
        rows.append(row)
    return {"list": rows}, {"list": codes}


def _granted(params: dict[str, Any]) -> int:
    quota = params.pop("_quota", None)
    return quota.granted if isinstance(quota, Quota) else 10**9


def create_batch(
    venue: Venue, uid: int, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_batch(venue, uid, params, _granted(params), True, venue.entry.create)


def amend_batch(
    venue: Venue, uid: int, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_batch(venue, uid, params, _granted(params), False, venue.changes.amend)


def cancel_batch(
    venue: Venue, uid: int, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_batch(venue, uid, params, _granted(params), False, venue.changes.cancel)


def _filters(params: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    category = params.get("category", "")
    if category not in BATCH_LIMITS:
        raise parameter_error(f"category must be linear or spot, received {category!r}")
    fields = ("symbol", "settleCoin", "baseCoin", "orderId", "orderLinkId")
    symbol, settle, base, order_id, link_id = (str(params.get(name, "")) for name in fields)
    return str(category), symbol, settle, base, order_id, link_id


def _limit(params: dict[str, Any], highest: int) -> int:
    text = str(params.get("limit", ""))
    if not text:
        return 20
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise parameter_error(f"limit must be an integer in [1, {highest}], received {text!r}")
    return int(text)


def _rows(
    venue: Venue, candidates: list[Order], params: dict[str, Any], highest: int
) -> dict[str, Any]:
    category, symbol, settle, base, _, _ = _filters(params)
    rows = [
        order.record()
        for order in candidates
        if order.instrument.category == category
        and (not symbol or order.instrument.symbol == symbol)
        and (not settle or order.instrument.config.quote_coin == settle)
        and (not base or order.instrument.config.base_coin == base)
    ][: _limit(params, highest)]
    return {"category": category, "list": rows, "nextPageCursor": ""}


def realtime(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Open orders (or up to 500 recently closed with openOnly=1), newest first."""
    category, symbol, settle, base, order_id, link_id = _filters(params)
    if category == "linear" and not (symbol or settle or base or order_id or link_id):
        raise parameter_error("symbol, baseCoin or settleCoin is required for linear")
    account = venue.exchange.accounts[uid]
    if order_id or link_id:
        found = account.find(order_id, link_id)
        candidates = [found] if found is not None else []
    elif str(params.get("openOnly", "0")) == "1":
        candidates = list(account.closed)
    else:
        candidates = [order for order in reversed(account.orders.values()) if order.is_open]
    return _rows(venue, candidates, params, 50)


def history(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    """Every order of the account (open and closed, since start), newest first."""
    _, _, _, _, order_id, link_id = _filters(params)
    account = venue.exchange.accounts[uid]
    if order_id or link_id:
        found = account.find(order_id, link_id)
        candidates = [found] if found is not None else []
    else:
        candidates = list(reversed(account.orders.values()))
    return _rows(venue, candidates, params, 50)

"""Signed REST handlers under /v5/order: single and batch create/amend/cancel (the trade
WebSocket runs its creates and amends through these too, so the `reject_storm` fault hits both)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mm_sim import errors
from mm_sim.errors import BybitError, parameter_error
from mm_sim.rate_limit import Quota
from mm_sim.venue import Venue

BATCH_LIMITS = {"linear": 20, "spot": 10}


def _refuse_in_a_reject_storm(venue: Venue) -> None:
    """The `reject_storm` fault: the venue refuses the order as a real one would (110007)."""
    if venue.faults.config.reject_storm:
        raise BybitError(errors.INSUFFICIENT_AVAILABLE_BALANCE)


def create(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    _refuse_in_a_reject_storm(venue)
    return venue.entry.create(uid, params)


def amend(venue: Venue, uid: int, params: dict[str, Any]) -> dict[str, Any]:
    _refuse_in_a_reject_storm(venue)
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
    return run_batch(venue, uid, params, _granted(params), True, lambda u, p: create(venue, u, p))


def amend_batch(
    venue: Venue, uid: int, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_batch(venue, uid, params, _granted(params), False, lambda u, p: amend(venue, u, p))


def cancel_batch(
    venue: Venue, uid: int, params: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return run_batch(venue, uid, params, _granted(params), False, venue.changes.cancel)

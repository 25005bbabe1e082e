"""The REST surface: one dispatcher applies faults, signing, rate limits and the Bybit envelope.

Routes are declared in a table (path -> handler, signed or public, quota). Business errors come back
as HTTP 200 with `retCode != 0`; a GET with a body gets HTTP 403 as on Bybit.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from mm_sim import errors
from mm_sim.errors import BybitError
from mm_sim.rate_limit import Quota
from mm_sim.venue import Venue

Handler = Callable[[Venue, int, dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: its handler, whether it needs a signature, and which quota it draws on."""

    method: str
    handler: Handler
    signed: bool
    quota: str = ""
    batch: bool = False


def envelope(
    venue: Venue, result: Any, code: int = 0, message: str = "OK", ext: Any = None
) -> dict[str, Any]:
    return {
        "retCode": code,
        "retMsg": message,
        "result": result if result is not None else {},
        "retExtInfo": ext if ext is not None else {},
        "time": venue.clock.now_ms(),
    }


def quota_limit(venue: Venue, quota: str, params: dict[str, Any]) -> int:
    settings = venue.settings
    if quota == "order":
        spot = params.get("category") == "spot"
        return settings.spot_order_rate_limit_per_s if spot else settings.order_rate_limit_per_s
    if quota in ("fee", "dcp"):
        return 5
    if quota == "position":
        return 10
    return settings.query_rate_limit_per_s


def quota_name(path: str, params: dict[str, Any]) -> str:
    """One quota per endpoint and category (the trade WS uses the same names)."""
    category = params.get("category", "") if isinstance(params.get("category"), str) else ""
    return f"{path}:{category}"


def build_handler(
    venue: Venue, routes: dict[str, Route]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        route = routes.get(request.path)
        if route is None or route.method != request.method:
            missing = BybitError(errors.ROUTE_NOT_FOUND, http_status=404)
            return _json(envelope(venue, {}, missing.code, missing.message), {}, 404)
        faults = venue.faults
        if faults.config.rest_delay_ms:
            await asyncio.sleep(faults.config.rest_delay_ms / 1000)
        fault = faults.take_rest_error()
        if fault == "http_5xx":
            return web.Response(status=503, text="503 Service Temporarily Unavailable")
        if fault == "10016":
            return _json(
                envelope(venue, {}, errors.SERVER_ERROR, errors.MESSAGES[errors.SERVER_ERROR])
            )
        raw = await request.read()
        if request.method == "GET" and raw:
            return web.Response(status=403, text="403 Forbidden: GET with a body")
        payload = (
            request.rel_url.raw_query_string
            if request.method == "GET"
            else raw.decode("utf-8", "replace")
        )
        headers: dict[str, str] = {}
        try:
            params = _params(request, raw)
            uid = venue.auth.verify_rest(request.headers, payload) if route.signed else 0
            quota = None
            if route.quota:
                quota, granted = _take_quota(venue, route, request.path, uid, params)
                headers = quota.headers()
                if not granted:
                    raise BybitError(errors.TOO_MANY_VISITS)
            body = route.handler(venue, uid, params | ({"_quota": quota} if route.batch else {}))
            if isinstance(body, tuple):
                result, ext = body
                return _json(envelope(venue, result, ext=ext), headers)
            return _json(envelope(venue, body), headers)
        except BybitError as error:
            return _json(envelope(venue, {}, error.code, error.message), headers, error.http_status)

    return handle


def _take_quota(
    venue: Venue, route: Route, path: str, uid: int, params: dict[str, Any]
) -> tuple[Quota, bool]:
    name = quota_name(path, params)
    limit = quota_limit(venue, route.quota, params)
    if venue.faults.config.rate_limit_storm and route.signed:
        venue.limiter.exhaust(uid, name, limit)
    requested = 1
    if route.batch:
        items = params.get("request")
        requested = max(1, len(items)) if isinstance(items, list) else 1
    quota = venue.limiter.take(uid, name, limit, requested)
    return quota, quota.granted > 0


def _params(request: web.Request, raw: bytes) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.parameter_error(
            "request body must be a JSON object, received invalid JSON"
        ) from None
    if not isinstance(body, dict):
        raise errors.parameter_error(
            f"request body must be a JSON object, received {type(body).__name__}"
        )
    return body


def _json(
    body: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    now = str(body.get("time", ""))
    extra = {
        "Timenow": now,
        "Traceid": f"sim{uuid.uuid4().hex[:24]}",
        "Ret_code": str(body["retCode"]),
    }
    return web.Response(
        body=msgspec.json.encode(body),
        status=status,
        content_type="application/json",
        headers=(headers or {}) | extra,
    )

"""Admin endpoints under /sim/admin for tests and drills: faults, steps, books, executions.

They can break the market and read every account, so they are off by default: every admin path
answers 403 saying how to turn them on. With a token (`SimSettings.admin_token`) each request must
carry `Authorization: Bearer <token>` (401 otherwise); `admin_open` serves them without one, for
tests on a loopback host only.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from mm_sim.errors import BybitError
from mm_sim.faults import FaultError
from mm_sim.instruments import STATUSES
from mm_sim.public_feed import DEPTHS
from mm_sim.venue import Venue


class Connections(Protocol):
    """The WS layers' hooks the admin endpoints pull: drop sockets, fire DCP."""

    async def drop_all(self, surface: str) -> int: ...

    def trigger_dcp(self, uid: int) -> int: ...


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text="expected a JSON object body, received invalid JSON"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=f"expected a JSON object body, received {type(body).__name__}"
        )
    return body


class AdminApi:
    """The /sim/admin handlers over one venue and its WS self.connections."""

    def __init__(self, venue: Venue, connections: Connections) -> None:
        self.venue = venue
        self.connections = connections

    async def faults(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(self.venue.faults.config.model_dump())
        body = await _body(request)
        try:
            config = self.venue.faults.update(body)
        except FaultError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        return web.json_response(config.model_dump())

    async def step(self, request: web.Request) -> web.Response:
        body = await _body(request)
        steps = body.get("steps", 1)
        if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= 100_000:
            raise web.HTTPBadRequest(
                text=f"expected steps as an integer in [0, 100000], received {steps!r}"
            )
        advance = body.get("advance_ms", 0)
        if advance:
            clock = self.venue.clock
            if not hasattr(clock, "advance"):
                raise web.HTTPBadRequest(
                    text="advance_ms needs the manual clock (MM_SIM_MANUAL_CLOCK)"
                )
            clock.advance(int(advance))
        self.venue.exchange.step(steps)
        return web.json_response({"steps": steps, "now_ms": self.venue.clock.now_ms()})

    async def book(self, request: web.Request) -> web.Response:
        category = request.query.get("category", "linear")
        symbol = request.query.get("symbol", "")
        depth_text = request.query.get("depth", "1000")
        if not depth_text.isdigit() or int(depth_text) not in DEPTHS:
            raise web.HTTPBadRequest(
                text=f"expected depth in {list(DEPTHS)}, received {depth_text!r}"
            )
        topic = self.venue.feed.books.get((category, symbol, int(depth_text)))
        if topic is None:
            raise web.HTTPNotFound(
                text=f"expected a known category/symbol, received {category}/{symbol}"
            )
        state = self.venue.exchange.symbols[(category, symbol)]
        bids, asks = self.venue.feed.levels(state, topic.bids, topic.asks)
        return web.json_response(
            {
                "s": symbol,
                "u": topic.update_id,
                "b": bids,
                "a": asks,
                "seq": state.seq,
            }
        )

    async def instrument_status(self, request: web.Request) -> web.Response:
        """Set an instrument's status as instruments-info reports it (a venue listing change)."""
        body = await _body(request)
        key = (body.get("category", "linear"), body.get("symbol", ""))
        state = self.venue.exchange.symbols.get(key)
        if state is None:
            raise web.HTTPNotFound(text=f"expected a known category/symbol, received {key}")
        status = body.get("status")
        if status not in STATUSES:
            raise web.HTTPBadRequest(
                text=f"expected status in {list(STATUSES)}, received {status!r}"
            )
        state.instrument.listing.status = status
        return web.json_response({"category": key[0], "symbol": key[1], "status": status})

    async def trade(self, request: web.Request) -> web.Response:
        body = await _body(request)
        key = (str(body.get("category", "linear")), str(body.get("symbol", "")))
        state = self.venue.exchange.symbols.get(key)
        side = body.get("side")
        if state is None or side not in ("Buy", "Sell"):
            raise web.HTTPBadRequest(
                text=f"expected a known category/symbol and side Buy/Sell, received {body!r}"
            )
        try:
            lots = state.instrument.parse_qty(body.get("qty"))
        except BybitError as error:
            raise web.HTTPBadRequest(text=error.message) from None
        traded = self.venue.exchange.market_trade(key, str(side), lots)
        return web.json_response({"traded": state.instrument.qty_text(traded)})

    async def executions(self, request: web.Request) -> web.Response:
        uid_text = request.query.get("uid", "")
        account = self.venue.exchange.accounts.get(int(uid_text)) if uid_text.isdigit() else None
        if account is None:
            raise web.HTTPNotFound(text=f"expected a configured uid, received {uid_text!r}")
        return web.json_response({"uid": account.uid, "list": account.executions})

    async def requests(self, request: web.Request) -> web.Response:
        """Every accepted create and amend of an account, oldest first (single-writer audits)."""
        uid_text = request.query.get("uid", "")
        account = self.venue.exchange.accounts.get(int(uid_text)) if uid_text.isdigit() else None
        if account is None:
            raise web.HTTPNotFound(text=f"expected a configured uid, received {uid_text!r}")
        return web.json_response({"uid": account.uid, "list": list(account.requests)})

    async def drop(self, request: web.Request) -> web.Response:
        body = await _body(request)
        surface = str(body.get("surface", "all"))
        if surface not in ("all", "public", "private", "trade"):
            raise web.HTTPBadRequest(
                text=f"expected surface all/public/private/trade, received {surface!r}"
            )
        return web.json_response({"dropped": await self.connections.drop_all(surface)})

    async def dcp(self, request: web.Request) -> web.Response:
        body = await _body(request)
        uid = body.get("uid")
        if not isinstance(uid, int) or uid not in self.venue.exchange.accounts:
            raise web.HTTPBadRequest(text=f"expected a configured uid, received {uid!r}")
        return web.json_response({"cancelled": self.connections.trigger_dcp(uid)})


AdminHandler = Callable[[web.Request], Awaitable[web.Response]]
_OFF = (
    "the simulator's admin endpoints are off: set MM_SIM_ADMIN_TOKEN_FILE (then send "
    "'Authorization: Bearer <token>'), or MM_SIM_ADMIN_OPEN=true on a loopback host in tests"
)


async def _admin_off(_request: web.Request) -> web.Response:
    raise web.HTTPForbidden(text=_OFF)


def _guarded(handler: AdminHandler, token: str) -> AdminHandler:
    expected = f"Bearer {token}".encode()

    async def check(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise web.HTTPUnauthorized(
                text="expected header 'Authorization: Bearer <admin token>', received none "
                "or another token"
            )
        return await handler(request)

    return check


def admin_routes(
    venue: Venue, connections: Connections, token: str = "", open_without_token: bool = False
) -> list[web.RouteDef]:
    """The admin routes: guarded by `token`, open (tests), or all answering 403 (the default)."""
    if not token and not open_without_token:
        return [web.route("*", "/sim/admin/{tail:.*}", _admin_off)]
    api = AdminApi(venue, connections)
    return _routes(api, (lambda handler: _guarded(handler, token)) if token else (lambda h: h))


def _routes(api: AdminApi, wrap: Callable[[AdminHandler], AdminHandler]) -> list[web.RouteDef]:
    return [
        web.get("/sim/admin/faults", wrap(api.faults)),
        web.post("/sim/admin/faults", wrap(api.faults)),
        web.post("/sim/admin/step", wrap(api.step)),
        web.get("/sim/admin/book", wrap(api.book)),
        web.get("/sim/admin/executions", wrap(api.executions)),
        web.get("/sim/admin/requests", wrap(api.requests)),
        web.post("/sim/admin/trade", wrap(api.trade)),
        web.post("/sim/admin/instrument-status", wrap(api.instrument_status)),
        web.post("/sim/admin/drop-connections", wrap(api.drop)),
        web.post("/sim/admin/dcp-trigger", wrap(api.dcp)),
    ]

"""Wiring: one aiohttp application serving REST, the three WebSocket surfaces and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from mm_sim.admin import admin_routes
from mm_sim.rest import build_handler
from mm_sim.rest_routes import ROUTES
from mm_sim.settings import SimSettings
from mm_sim.venue import Venue, build_venue
from mm_sim.ws_connections import Registry
from mm_sim.ws_private import PrivateSocket
from mm_sim.ws_public import PublicSocket
from mm_sim.ws_trade import TradeSocket

LOG = logging.getLogger(__name__)


class Connections:
    """The admin endpoints' handle on the WS layers."""

    def __init__(self, registry: Registry, private: PrivateSocket) -> None:
        self.registry = registry
        self.private = private

    async def drop_all(self, surface: str) -> int:
        return await self.registry.drop_all(surface)

    def trigger_dcp(self, uid: int) -> int:
        return self.private.trigger_dcp(uid)


async def market_clock(venue: Venue) -> None:
    """Step the market in real time when `market.auto_step` is on."""
    interval = venue.settings.market.step_interval_ms / 1000
    while True:
        await asyncio.sleep(interval)
        try:
            venue.exchange.step(1)
        except Exception:
            LOG.exception("market step failed; continuing")


def build_app(settings: SimSettings) -> tuple[web.Application, Venue]:
    venue = build_venue(settings)
    registry = Registry(settings.ws_latency_ms, settings.ws_ping_timeout_s)
    public = PublicSocket(venue.feed, registry)
    private = PrivateSocket(venue, registry)
    trade = TradeSocket(venue, registry)
    app = web.Application()
    rest_handler = build_handler(venue, ROUTES)
    app.router.add_route("*", "/v5/market/{tail:.*}", rest_handler)
    app.router.add_route("*", "/v5/order/{tail:.*}", rest_handler)
    app.router.add_route("*", "/v5/position/{tail:.*}", rest_handler)
    app.router.add_route("*", "/v5/account/{tail:.*}", rest_handler)
    app.router.add_route("*", "/v5/execution/{tail:.*}", rest_handler)
    app.router.add_get("/v5/public/linear", public.handler("linear"))
    app.router.add_get("/v5/public/spot", public.handler("spot"))
    app.router.add_get("/v5/private", private.handle)
    app.router.add_get("/v5/trade", trade.handle)
    admin = admin_routes(
        venue,
        Connections(registry, private),
        settings.admin_token.get_secret_value(),
        settings.admin_open,
    )
    app.router.add_routes(admin)
    app.router.add_route("*", "/v5/{tail:.*}", rest_handler)  # unknown v5 paths: 404 + 10017

    async def background(app: web.Application) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(private.watchdog())]
        if settings.market.auto_step:
            tasks.append(asyncio.create_task(market_clock(venue)))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await registry.drop_all("all")

    app.cleanup_ctx.append(background)
    return app, venue

"""The HTTP side port of every service: `/metrics` (Prometheus), `/healthz`, `/startedz`, `/readyz`.

`/healthz` answers 200 while the event loop runs (liveness: restart me if this stops answering).
`/startedz` answers 200 once the service's start has finished (its subscriptions, ctl included, are
on the server, so it answers requests) and 503 before: what a supervisor starting several services
at once waits for before it calls the stack started.
`/readyz` answers 200 only when the NATS connection is up and the service says it is ready
(readiness: route no work to me otherwise), and 503 with the reason otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mm_runtime.settings import HttpSettings

ReadinessCheck = Callable[[], tuple[bool, str]]


class HealthServer:
    """Serves the side port until stopped; `port` is the bound port (useful when 0 was asked)."""

    def __init__(
        self, settings: HttpSettings, registry: CollectorRegistry, readiness: ReadinessCheck
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._readiness = readiness
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.started = False  # set by the lifecycle once the service's start has finished

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/startedz", self._startedz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._settings.host, self._settings.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._settings.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _startedz(self, _request: web.Request) -> web.Response:
        status = "started" if self.started else "starting"
        return web.json_response({"status": status}, status=200 if self.started else 503)

    async def _readyz(self, _request: web.Request) -> web.Response:
        ready, reason = self._readiness()
        return web.json_response(
            {"status": "ready" if ready else "not ready", "reason": reason},
            status=200 if ready else 503,
        )

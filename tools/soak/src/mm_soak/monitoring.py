"""What a monitoring drill reads: a local webhook that records what Alertmanager delivers, and
which scrape targets Prometheus sees up.

The stack runs Prometheus and Alertmanager itself (`StackOptions(monitoring=True)`, the same as
`mm run --monitoring`; `mm_cli.monitoring`), with `alert_webhook` set to `AlertSink.url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from mm_runtime.testing import free_port


@dataclass
class AlertSink:
    """A local webhook: every (status, alertname) Alertmanager delivered, in order."""

    port: int = field(default_factory=free_port)
    received: list[tuple[str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/alerts", self._on_post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _on_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        for alert in body.get("alerts", []):
            self.received.append((str(alert["status"]), str(alert["labels"]["alertname"])))
        return web.Response(text="ok")

    def names(self, status: str) -> set[str]:
        return {name for seen, name in self.received if seen == status}

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def targets_up(prometheus_port: int) -> dict[str, bool]:
    """Each scrape job's health as the Prometheus on `prometheus_port` sees it."""
    url = f"http://127.0.0.1:{prometheus_port}/api/v1/targets"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session,
        session.get(url) as reply,
    ):
        body = await reply.json()
    return {
        target["labels"]["job"]: target["health"] == "up"
        for target in body["data"]["activeTargets"]
    }

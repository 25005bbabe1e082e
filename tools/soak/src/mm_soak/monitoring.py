"""Prometheus and Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`, installed by
`make monitoring`) around a running local stack, and a webhook that records what Alertmanager
delivers.

Prometheus runs the shipped configuration: the scrape jobs of `deploy/prometheus/prometheus.yml`
pointed at the stack's side ports on loopback (compose names them `<service>:9100`) and the
shipped `deploy/prometheus/alerts.yml`, unchanged; only the intervals are shortened (scrape and
evaluate every second) so a drill sees its alerts within seconds of each rule's own `for`.
Alertmanager groups by alert name and delivers at once, resolved alerts too, to the webhook.
Everything listens on 127.0.0.1, each process in its own directory with its own log.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from mm_cli.local_stack import StackLayout
from mm_runtime.testing import free_port

ROOT = Path(__file__).resolve().parents[4]
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SHIPPED_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
BINARIES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}


class MonitoringUnavailableError(RuntimeError):
    """Prometheus or Alertmanager is not installed here."""


def binaries() -> dict[str, str]:
    """The two binaries' paths, or MonitoringUnavailableError saying how to install them."""
    found = {name: shutil.which(binary) for name, binary in BINARIES.items()}
    missing = sorted(BINARIES[name] for name, path in found.items() if path is None)
    if missing:
        raise MonitoringUnavailableError(
            f"{', '.join(missing)} not installed: run `make monitoring` (Debian, as root) or "
            "install your system's prometheus and prometheus-alertmanager packages"
        )
    return {name: str(path) for name, path in found.items()}


def prometheus_config(layout: StackLayout, alertmanager_port: int) -> dict[str, Any]:
    """The shipped scrape config with its targets on the stack's ports and its rules file."""
    config: dict[str, Any] = yaml.safe_load(SHIPPED_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(SHIPPED_RULES)]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{layout.http_port(job['job_name'])}"]}]
    config["alerting"] = {
        "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
    }
    return config


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "webhook",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
        ],
    }


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


class Monitoring:
    """Prometheus and Alertmanager for one stack; `stop()` ends both on every path."""

    def __init__(self, layout: StackLayout, directory: Path, webhook_url: str) -> None:
        self.layout = layout
        self.directory = directory
        self.webhook_url = webhook_url
        self.prometheus_port = free_port()
        self.alertmanager_port = free_port()
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    async def start(self) -> None:
        paths = binaries()
        self.directory.mkdir(parents=True, exist_ok=True)
        am_config = self._write("alertmanager.yml", alertmanager_config(self.webhook_url))
        self._spawn(
            "alertmanager",
            [
                paths["alertmanager"],
                f"--config.file={am_config}",
                f"--storage.path={self.directory / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
                "--cluster.listen-address=",  # one instance: no gossip port
            ],
        )
        prom_config = self._write(
            "prometheus.yml", prometheus_config(self.layout, self.alertmanager_port)
        )
        self._spawn(
            "prometheus",
            [
                paths["prometheus"],
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={self.directory / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
        )
        await self._ready(f"http://127.0.0.1:{self.alertmanager_port}/-/ready")
        await self._ready(f"{self.prometheus_url}/-/ready")

    def _write(self, name: str, config: dict[str, Any]) -> Path:
        path = self.directory / name
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _spawn(self, name: str, argv: list[str]) -> None:
        with (self.directory / f"{name}.log").open("ab") as log:
            self._processes.append(
                subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)  # noqa: S603
            )

    async def _ready(self, url: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0)) as session:
            while time.monotonic() < deadline:
                for process in self._processes:
                    if process.poll() is not None:
                        raise MonitoringUnavailableError(
                            f"a monitoring process exited with {process.returncode} at start; "
                            f"see the logs in {self.directory}"
                        )
                try:
                    async with session.get(url) as reply:
                        if reply.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.2)
        raise MonitoringUnavailableError(f"{url} not ready within {timeout_s}s")

    async def targets_up(self) -> dict[str, bool]:
        """Each scrape job's health as Prometheus sees it."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0)) as session,
            session.get(f"{self.prometheus_url}/api/v1/targets") as reply,
        ):
            body = await reply.json()
        return {
            target["labels"]["job"]: target["health"] == "up"
            for target in body["data"]["activeTargets"]
        }

    async def stop(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()

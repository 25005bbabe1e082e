"""Start a real simulator on a free loopback port inside a test: `running_simulator(settings)`, or
as its own process (`python -m mm_sim`, as the stack runs it): `simulator_process(log_dir, env)`.

async with running_simulator(SimSettings(manual_clock=True)) as sim:
    sim.rest_url                  # "http://127.0.0.1:PORT"
    sim.ws_public_url("linear")   # "ws://127.0.0.1:PORT/v5/public/linear"
    sim.ws_private_url, sim.ws_trade_url
    await sim.admin.step(10)      # advance the market model 10 steps
    await sim.admin.set_faults({"rest_error": "10016", "rest_error_count": 1})
    sim.venue                     # the in-process engine, for white-box assertions

with simulator_process(tmp_path, {"MM_SIM_ORDER_RATE_LIMIT_PER_S": "200"}) as url:
    ...                           # "http://127.0.0.1:PORT", admin open, no auto-stepping
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from mm_sim.app import build_app
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.venue import Venue

API_KEY = "sim-key"
API_SECRET = "sim-secret"  # noqa: S105 - the simulator's published test key, not a secret
PROCESS_START_TIMEOUT_S = 20.0


class Admin:
    """Thin client for `/sim/admin/*` (sending the admin token when there is one)."""

    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, f"{self.base_url}{path}", json=body, params=params, headers=self.headers
            ) as response,
        ):
            if response.status != 200:
                raise RuntimeError(
                    f"admin {path}: expected HTTP 200, received {response.status}: "
                    f"{await response.text()}"
                )
            return await response.json()

    async def step(self, steps: int = 1, advance_ms: int = 0) -> Any:
        return await self._call(
            "POST", "/sim/admin/step", {"steps": steps, "advance_ms": advance_ms}
        )

    async def set_faults(self, changes: dict[str, Any]) -> Any:
        return await self._call("POST", "/sim/admin/faults", changes)

    async def faults(self) -> Any:
        return await self._call("GET", "/sim/admin/faults")

    async def book(self, symbol: str, category: str = "linear", depth: int = 1000) -> Any:
        return await self._call(
            "GET",
            "/sim/admin/book",
            params={"symbol": symbol, "category": category, "depth": str(depth)},
        )

    async def trade(self, symbol: str, side: str, qty: str, category: str = "linear") -> Any:
        """A market participant's taker order (eats displayed size and our queue at each price)."""
        body = {"category": category, "symbol": symbol, "side": side, "qty": qty}
        return await self._call("POST", "/sim/admin/trade", body)

    async def set_instrument_status(
        self, symbol: str, status: str, category: str = "linear"
    ) -> Any:
        """Change what instruments-info says of the symbol (e.g. "Delivering", "Trading")."""
        body = {"category": category, "symbol": symbol, "status": status}
        return await self._call("POST", "/sim/admin/instrument-status", body)

    async def executions(self, uid: int = 1001) -> Any:
        return await self._call("GET", "/sim/admin/executions", params={"uid": str(uid)})

    async def requests(self, uid: int = 1001) -> Any:
        """Accepted creates and amends, oldest first, each with its orderLinkId and time."""
        return await self._call("GET", "/sim/admin/requests", params={"uid": str(uid)})

    async def drop_connections(self, surface: str = "all") -> Any:
        return await self._call("POST", "/sim/admin/drop-connections", {"surface": surface})

    async def trigger_dcp(self, uid: int = 1001) -> Any:
        return await self._call("POST", "/sim/admin/dcp-trigger", {"uid": uid})


@dataclass
class SimulatorHandle:
    """Where a running simulator listens, its admin client and its in-process venue."""

    host: str
    port: int
    venue: Venue
    admin: Admin

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ws_public_url(self, category: str) -> str:
        return f"ws://{self.host}:{self.port}/v5/public/{category}"

    @property
    def ws_private_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v5/private"

    @property
    def ws_trade_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v5/trade"


def simulator_settings(**overrides: Any) -> SimSettings:
    """Settings for tests: manual engine clock, no real-time market stepping, port 0, and the
    admin endpoints open (loopback only)."""
    market = overrides.pop("market", MarketModelConfig(auto_step=False))
    overrides.setdefault("admin_open", True)
    return SimSettings(port=0, manual_clock=True, market=market, **overrides)


@contextlib.asynccontextmanager
async def running_simulator(settings: SimSettings | None = None) -> AsyncIterator[SimulatorHandle]:
    """Serve the simulator on 127.0.0.1 (a free port unless `settings.port` is set) until exit."""
    settings = settings if settings is not None else simulator_settings()
    app, venue = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    try:
        server = site._server  # aiohttp keeps the bound asyncio.Server here
        port = server.sockets[0].getsockname()[1] if server is not None else settings.port  # type: ignore[attr-defined]
        base = f"http://{settings.host}:{port}"
        token = settings.admin_token.get_secret_value()
        yield SimulatorHandle(settings.host, port, venue, Admin(base, token))
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def simulator_process(log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`python -m mm_sim` on a free loopback port until exit; yields its base URL.

    Admin endpoints open, no real-time market stepping; `env` adds or overrides `MM_SIM_*`
    settings. The caller's own `MM_SIM_*` and `EXECUTOR_*` variables are not passed on. A port
    that was free a moment ago may be taken on a busy machine, so a simulator that exits at once
    is retried on a fresh port (logs: `log_dir/sim-<attempt>.log`).
    """
    base = {name: value for name, value in os.environ.items() if not name.startswith("MM_SIM_")}
    base = {name: value for name, value in base.items() if not name.startswith("EXECUTOR_")}
    base |= {"MM_SIM_MARKET__AUTO_STEP": "false", "MM_SIM_ADMIN_OPEN": "true"}
    for attempt in range(3):
        port = _free_port()
        with (log_dir / f"sim-{attempt}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mm_sim"],
                env=base | dict(env or {}) | {"MM_SIM_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        if _answers(f"{url}/v5/market/time", process):
            break
    else:
        raise AssertionError(f"simulator did not start in 3 attempts; see {log_dir}/sim-*.log")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    """True once the URL answers 200; False if the process exited first."""
    deadline = time.monotonic() + PROCESS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=0.5) as reply,  # noqa: S310 - loopback http
        ):
            if reply.status == 200:
                return True
        time.sleep(0.05)
    process.kill()
    process.wait(10)
    raise AssertionError(f"simulator did not answer {url} in {PROCESS_START_TIMEOUT_S:g} s")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port

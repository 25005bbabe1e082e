"""A local stack for drills, benchmarks and soaks: `mm run`'s children with per-run overrides.

It reuses the CLI's `build_stack` and `Supervisor` (same commands, same ports scheme, every child
in its own process group, reaped on every exit path) and adds what a test needs: extra environment
per child, a known API secret (the canary), killing one child the hard way, the account's REST
credentials for the venue audit, and (with `quoter_fault_hook`) the quoter started through the
test-only `mm_soak.quoter_fault`, so a drill can make it raise on every tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client

from mm_cli.local_stack import (
    SERVICES,
    StackLayout,
    build_stack,
    ensure_credentials,
)
from mm_cli.supervisor import Child, ChildSpec, Supervisor
from mm_runtime.bus import server_list

_log = logging.getLogger("mm_soak.stack")

# A venue that pays a maker rebate and a quoter that quotes near the touch, so the market model's
# trades fill us: drills then have fills and positions to audit, not just resting orders.
TRADING_ENV: dict[str, dict[str, str]] = {
    "sim": {"MM_SIM_MAKER_FEE_RATE": "-0.00005"},
    "quoter": {
        "QUOTER_MAKER_FEE_RATE": "-0.00005",
        "QUOTER_PARAMS__MIN_SPREAD_BPS": "0.1",
        "QUOTER_PARAMS__K_VOLA_SPREAD": "0.1",
    },
}


@dataclass
class StackOptions:
    """What differs from `mm run`: symbols, a fixed secret, extra environment per child."""

    run_dir: Path
    base_port: int = 15220
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    api_secret: str = ""  # "" keeps the generated one; a canary value is written before start
    env: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: TRADING_ENV)
    ready_timeout_s: float = 45.0
    quoter_fault_hook: bool = False  # quoter via mm_soak.quoter_fault (drills only)
    nats_nodes: int = 1  # 3: the bus is a JetStream cluster (`StackLayout.nats_nodes`)
    monitoring: bool = False  # Prometheus and Alertmanager too (`mm_cli.monitoring`)
    alert_webhook: str = ""


class LocalStack:
    """Start, hurt and stop the local stack; `async with` stops it on every exit path."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.layout = StackLayout(
            run_dir=options.run_dir.resolve(),
            base_port=options.base_port,
            symbols=options.symbols,
            nats_nodes=options.nats_nodes,
            monitoring=options.monitoring,
            alert_webhook=options.alert_webhook,
        )
        self.supervisor: Supervisor | None = None

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def specs(self) -> list[ChildSpec]:
        if self.options.api_secret:
            self.layout.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            secret_file = self.layout.secrets_dir / "api_secret"
            secret_file.touch(mode=0o600)
            secret_file.write_text(self.options.api_secret)
        specs = build_stack(self.layout)
        for spec in specs:
            spec.env.update(self.options.env.get(spec.name, {}))
            if spec.name == "quoter" and self.quoter_fault_file is not None:
                spec.argv = [sys.executable, "-m", "mm_soak.quoter_fault"]
                spec.env["MM_SOAK_QUOTER_FAULT_FILE"] = str(self.quoter_fault_file)
        return specs

    @property
    def quoter_fault_file(self) -> Path | None:
        """While this file exists the hooked quoter raises on every tick (None: no hook)."""
        if not self.options.quoter_fault_hook:
            return None
        return self.layout.run_dir / "quoter-fault"

    async def start(self) -> None:
        self.supervisor = Supervisor(self.specs(), self.layout.log_dir)
        try:
            await self.supervisor.start(ready_timeout_s=self.options.ready_timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.stop()
            self.supervisor = None

    def child(self, name: str) -> Child:
        if self.supervisor is None:
            raise RuntimeError(f"expected a started stack to find child {name!r}, it is stopped")
        for child in self.supervisor.children:
            if child.spec.name == name:
                return child
        names = [child.spec.name for child in self.supervisor.children]
        raise KeyError(f"expected a child named one of {names}, received {name!r}")

    def kill(self, name: str, number: signal.Signals = signal.SIGKILL) -> int:
        """Signal one child's whole process group; the supervisor restarts it after its backoff.
        Returns the pid that was signalled."""
        child = self.child(name)
        pid = child.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, number)
        return pid

    def pids(self) -> dict[str, int]:
        """Each running child's pid (its process group id)."""
        if self.supervisor is None:
            return {}
        return {
            child.spec.name: child.pid
            for child in self.supervisor.children
            if child.process is not None and child.process.returncode is None
        }

    async def connect(self, name: str = "mm-soak") -> Client:
        """A bus connection as the operator user that survives NATS restarts (bounded first try)."""
        return await asyncio.wait_for(
            nats.connect(
                server_list(self.layout.nats_url),
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                error_cb=_on_bus_error,
                **self.layout.operator_auth(),
            ),
            timeout=15,
        )

    def credentials(self) -> tuple[str, str]:
        """The account's API key and secret, as the executor reads them."""
        key_file, secret_file, _ = ensure_credentials(self.layout)
        return key_file.read_text(), secret_file.read_text()

    def http_url(self, service: str) -> str:
        if service not in SERVICES:
            raise KeyError(f"expected one of {SERVICES}, received {service!r}")
        return f"http://127.0.0.1:{self.layout.http_port(service)}"


async def _on_bus_error(error: Exception) -> None:
    # Drills restart NATS on purpose: a refused reconnect is expected, not worth a traceback.
    _log.info("bus connection error: %s: %s", type(error).__name__, error)

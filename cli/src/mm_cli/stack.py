"""The local stack's public API: start, steer and stop the stack `mm run` starts, from Python.

Tools (the soak and its drills), benchmarks and tests take the stack from here, never from
`mm_cli.local_stack` or `mm_cli.supervisor`: the layout (ports, directories, the operator's bus
credentials), a free block of ports, the child specs `mm run` starts, the supervisor that runs
them, and `LocalStack`, a handle that adds per-run overrides (extra environment or another command
line per child, a known API secret), killing one child the hard way and the account's
credentials. Every child runs in its own process group and is reaped on every exit path. The
service list is the registry's (`mm_proto.services.REGISTRY`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from nats.aio.client import Client

from mm_cli.bus_connect import close_quietly
from mm_cli.local_stack import (
    CONTROLLER,
    SERVICE_PORT_OFFSET,
    StackLayout,
    build_stack,
    ensure_credentials,
    free_base_port,
)
from mm_cli.stack_claim import RunDirLock, StackBusyError, claim_stack
from mm_cli.supervisor import Child, ChildSpec, Supervisor
from mm_runtime.bus import server_list

__all__ = [
    "CONTROLLER",
    "SERVICE_PORT_OFFSET",
    "Child",
    "ChildSpec",
    "LocalStack",
    "StackBusyError",
    "StackLayout",
    "Supervisor",
    "build_stack",
    "ensure_credentials",
    "free_base_port",
]

_log = logging.getLogger("mm_cli.stack")


class LocalStack:
    """Start, hurt and stop the local stack; `async with` stops it on every exit path."""

    def __init__(
        self,
        layout: StackLayout,
        env: Mapping[str, Mapping[str, str]] | None = None,
        argv: Mapping[str, Sequence[str]] | None = None,
        api_secret: str = "",
        ready_timeout_s: float = 45.0,
    ) -> None:
        """`env` adds to a child's environment and `argv` replaces its command line, by child
        name; `api_secret` ("" keeps the generated one) is written before the start."""
        self.layout = layout
        self._env = env or {}
        self._argv = argv or {}
        self._api_secret = api_secret
        self._ready_timeout_s = ready_timeout_s
        self.supervisor: Supervisor | None = None
        self._lock: RunDirLock | None = None  # the run directory, held from start to stop

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def specs(self) -> list[ChildSpec]:
        """`mm run`'s children with this stack's overrides."""
        if self._api_secret:
            self.layout.secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            secret_file = self.layout.secrets_dir / "api_secret"
            secret_file.touch(mode=0o600)
            secret_file.write_text(self._api_secret)
        specs = build_stack(self.layout)
        for spec in specs:
            spec.env.update(self._env.get(spec.name, {}))
            if spec.name in self._argv:
                spec.argv = list(self._argv[spec.name])
        return specs

    async def start(self) -> None:
        """Take the run directory and check the ports as `mm run` does (`mm_cli.stack_claim`:
        `StackBusyError` when another stack holds either), then start every child."""
        self._lock, specs = claim_stack(self.layout, self.specs)
        try:
            self.supervisor = Supervisor(specs, self.layout.log_dir)
            await self.supervisor.start(ready_timeout_s=self._ready_timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        try:
            if self.supervisor is not None:
                await self.supervisor.stop()
                self.supervisor = None
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

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

    async def connect(self, name: str = "mm-stack", servers: Sequence[str] = ()) -> Client:
        """A bus connection as the operator user that survives NATS restarts (bounded first try),
        to `servers` or else every node of the bus."""
        client = Client()
        options: dict[str, Any] = {
            "name": name,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "connect_timeout": 2,
            "error_cb": _on_bus_error,
            **self.layout.operator_auth(),
        }
        try:
            urls = list(servers) or server_list(self.layout.nats_url)
            await asyncio.wait_for(client.connect(urls, **options), 15)
        except BaseException:
            await close_quietly(client)  # a connect cut off mid-handshake keeps its socket
            raise
        return client

    def credentials(self) -> tuple[str, str]:
        """The account's API key and secret, as the executor reads them."""
        key_file, secret_file, _ = ensure_credentials(self.layout)
        return key_file.read_text(), secret_file.read_text()

    def http_url(self, service: str) -> str:
        """A service's side port (metrics, health); KeyError for a service not in the stack."""
        names = self.layout.registry.names
        if service not in names:
            raise KeyError(f"expected one of {names}, received {service!r}")
        return f"http://127.0.0.1:{self.layout.http_port(service)}"


async def _on_bus_error(error: Exception) -> None:
    # Drills restart NATS on purpose: a refused reconnect is expected, not worth a traceback.
    _log.info("bus connection error: %s: %s", type(error).__name__, error)

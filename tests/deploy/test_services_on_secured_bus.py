"""The four real services start and answer ctl requests under their least-privilege bus users.

This is what keeps `mm_runtime.bus_auth.PERMISSIONS` honest as the services grow: each service
runs in-process against the simulator and a nats-server with the generated config, logged in with
its own generated password file, and the server's log must show no permissions violation (the
server logs every refused publish and subscription).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mm_proto import CtlReply, StatusRequest, decode, encode, subjects
from mm_proto.services import REGISTRY, VenueAccess
from mm_runtime.bus_auth import SERVICE_USERS, BusCredentials
from mm_runtime.lifecycle import serve
from mm_runtime.nats_server import NatsServer
from mm_runtime.settings import load_settings
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle, running_simulator

pytestmark = [pytest.mark.system, pytest.mark.beside_others]

SYMBOLS = "BTCUSDT,ETHUSDT"
SERVICES = {  # in start order: the gateway stores the instrument grids risk waits for
    "md_gateway": ("md_gateway", "GatewaySettings", "GatewayService"),
    "risk": ("risk", "RiskSettings", "RiskService"),
    "quoter": ("quoter", "QuoterSettings", "QuoterService"),
    "executor": ("executor", "ExecutorSettings", "ExecutorService"),
    "ledger": ("ledger", "LedgerSettings", "LedgerService"),
    "recorder": ("recorder", "RecorderSettings", "RecorderService"),
}


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorHandle]:
    settings = SimSettings(port=0, market=MarketModelConfig(auto_step=False))
    async with running_simulator(settings) as handle:
        yield handle


def _environment(
    service: str, credentials: BusCredentials, nats_url: str, sim: SimulatorHandle, files: Path
) -> dict[str, str]:
    prefix = REGISTRY[service].env_prefix
    environment = {
        **credentials.service_environment[service],
        prefix + "NATS__URL": nats_url,
        prefix + "SYMBOLS": SYMBOLS,
    }
    if REGISTRY[service].venue is not VenueAccess.NONE:
        environment[prefix + "VENUE__REST_URL"] = sim.rest_url
        environment[prefix + "VENUE__WS_URL"] = f"ws://{sim.host}:{sim.port}"
    if REGISTRY[service].keeps_files:
        environment[prefix + "DIR"] = str(files / service)
    if REGISTRY[service].venue is VenueAccess.TRADING:
        for name, value in (("API_KEY", API_KEY), ("API_SECRET", API_SECRET)):
            (files / name).write_text(value)
            environment[f"{prefix}VENUE__{name}_FILE"] = str(files / name)
    return environment


async def _start(
    service: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Task[Any], asyncio.Event]:
    module_name, settings_name, service_name = SERVICES[service]
    settings_module = importlib.import_module(f"{module_name}.settings")
    service_module = importlib.import_module(f"{module_name}.service")
    with monkeypatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        settings = load_settings(getattr(settings_module, settings_name))
    stop, ready = asyncio.Event(), asyncio.Event()
    instance = getattr(service_module, service_name)(settings)
    task = asyncio.create_task(serve(instance, settings, stop, ready, configure_logs=False))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=40, return_when="FIRST_COMPLETED")
    if waiter not in done:
        waiter.cancel()
        stop.set()
        if task.done():
            task.result()  # raises the service's start error
        raise AssertionError(f"{service} did not become ready in 40 s")
    return task, stop


def _violations(server: NatsServer) -> list[str]:
    lines = server.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    # "Publish Violation", "Subscription Violation", "Permissions Violation for ..."
    return [line for line in lines if "violation" in line.lower()]


async def test_services_run_under_their_own_users(
    secured_nats: NatsServer,
    bus_credentials: BusCredentials,
    simulator: SimulatorHandle,
    connect_as: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = len(_violations(secured_nats))  # other tests of this module provoke some on purpose
    running: list[tuple[asyncio.Task[Any], asyncio.Event]] = []
    try:
        for service in SERVICES:
            environment = _environment(
                service, bus_credentials, secured_nats.url, simulator, tmp_path
            )
            running.append(await _start(service, environment, monkeypatch))
        operator = await connect_as("operator")
        for service in SERVICE_USERS:
            if service == "md_gateway":
                continue  # answers no ctl verbs
            reply = await operator.client.request(
                subjects.ctl(service, "status"), encode(StatusRequest()), timeout=5
            )
            assert decode(reply.data, CtlReply).ok, service
    finally:
        for task, stop in reversed(running):
            stop.set()
            await asyncio.wait_for(task, 20)
    assert _violations(secured_nats)[before:] == []

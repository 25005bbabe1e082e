"""Monitoring that runs: the trading stack with `monitoring` (as `mm run --monitoring`), so a real
Prometheus scrapes every service with the shipped config and rules, and a real Alertmanager
delivers to a local webhook. A drill halts trading and freezes nats-server for longer than the
rules' 30 s `for`: TradingHalted, BusDisconnected and RiskBlindToExecutorFacts must arrive firing,
and resolved once NATS is thawed and trading resumed.
Skipped, with how to install them, where Debian's prometheus and prometheus-alertmanager are not
installed (`make monitoring`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mm_cli.monitoring import MonitoringUnavailableError, binaries
from mm_proto.services import REGISTRY
from mm_runtime.testing import eventually
from mm_soak.monitoring import AlertSink, targets_up
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = pytest.mark.system
MM = str(Path(sys.executable).with_name("mm"))
DRILL_ALERTS = {"TradingHalted", "BusDisconnected", "RiskBlindToExecutorFacts"}


@pytest.fixture
async def monitored(tmp_path: Path) -> AsyncIterator[tuple[RunningStack, AlertSink]]:
    """A trading stack with Prometheus and Alertmanager delivering to a local webhook."""
    try:
        binaries()
    except MonitoringUnavailableError as error:
        pytest.skip(str(error))
    sink = AlertSink()
    await sink.start()
    try:
        running = await start_stack(
            tmp_path / "run", env=TRADING_ENV, monitoring=True, alert_webhook=sink.url
        )
        try:
            await eventually(
                lambda: running.watch.activity_at, timeout=30, message="the stack places orders"
            )
            yield running, sink
        finally:
            await stop_stack(running)
    finally:
        await sink.stop()


def _mm(running: RunningStack, *arguments: str) -> None:
    layout = running.stack.layout
    bus = ("--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir))
    done = subprocess.run(
        [MM, *arguments, *bus], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.timeout(240)
async def test_a_halt_and_a_frozen_bus_fire_three_alerts_through_alertmanager_that_resolve(
    monitored: tuple[RunningStack, AlertSink],
) -> None:
    trading_stack, sink = monitored
    services = set(REGISTRY.names)

    async def all_scraped() -> bool:
        up = await targets_up(trading_stack.stack.layout.prometheus_port)
        return set(up) == services and all(up.values())

    await eventually(all_scraped, timeout=20, interval=0.5, message="every service is scraped")
    assert sink.received == [], "expected no alert from a healthy stack"

    _mm(trading_stack, "halt", "--reason", "monitoring drill")
    trading_stack.stack.kill("nats", signal.SIGSTOP)
    try:
        await eventually(
            lambda: sink.names("firing") >= DRILL_ALERTS,
            timeout=75,
            interval=0.5,
            message=f"{DRILL_ALERTS} delivered firing",
        )
    finally:
        trading_stack.stack.kill("nats", signal.SIGCONT)
    await eventually(
        lambda: trading_stack.client.is_connected, timeout=20, message="the bus is back"
    )
    await _resume(trading_stack)
    await eventually(
        lambda: sink.names("resolved") >= DRILL_ALERTS,
        timeout=60,
        interval=0.5,
        message=f"{DRILL_ALERTS} delivered resolved; received {sink.received}",
    )


async def _resume(running: RunningStack) -> None:
    """Resume once the services are back on the bus (the ctl request needs risk to answer)."""

    async def resumed() -> bool:
        try:
            _mm(running, "resume", "--reason", "monitoring drill over")
        except AssertionError:
            return False
        return True

    await eventually(resumed, timeout=30, interval=1.0, message="risk accepts the resume")

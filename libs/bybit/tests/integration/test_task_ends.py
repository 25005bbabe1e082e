"""Against the real simulator: no task of a WebSocket connection ends unobserved. A reader or ping
task that ends is logged and the socket reconnects; the connection loop (`ws-<name>`), run by a
service's task supervisor through `supervised()`, is restarted by it with readiness false."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected, Subscribed
from mm_bybit.ws_public import PublicFrame, PublicStream
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import running_simulator, simulator_settings

TOPICS = ("orderbook.50.BTCUSDT",)


def _task(name: str) -> asyncio.Task[object]:
    found = [task for task in asyncio.all_tasks() if task.get_name() == name]
    assert len(found) == 1, f"expected one task {name!r}, found {len(found)}"
    return found[0]


def _subscriptions(events: list[ConnectionEvent]) -> int:
    return sum(isinstance(event, Subscribed) for event in events)


@pytest.mark.parametrize("kind", ["reader", "ping"])
async def test_a_killed_reader_or_ping_task_is_logged_and_the_socket_reconnects(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[ConnectionEvent] = []
    frames: list[PublicFrame] = []
    async with running_simulator(simulator_settings()) as sim:
        stream = PublicStream(
            sim.ws_public_url("linear"),
            frames.append,
            topics=TOPICS,
            on_state=events.append,
            backoff=Backoff(base_s=0.05, cap_s=0.05, rng=lambda: 1.0),
        )
        stream.start()
        try:
            await eventually(lambda: _subscriptions(events) == 1, timeout=10.0)
            _task(f"ws-{stream.connection.name}-{kind}").cancel()
            await eventually(lambda: _subscriptions(events) == 2, timeout=10.0)
        finally:
            await stream.close()
    ends = [event for event in events if isinstance(event, Disconnected)]
    assert [event.reason for event in ends] == [
        "connection ended: RuntimeError: reader or ping task cancelled"
    ]
    logged = [r for r in caplog.records if "connection task ended unexpectedly" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


async def test_a_killed_connection_loop_is_observed_and_restarted_by_the_supervisor(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    events: list[ConnectionEvent] = []
    supervisor = TaskSupervisor(backoff_base_s=0.05, settle_s=0.2)
    async with running_simulator(simulator_settings()) as sim:
        stream = PublicStream(
            sim.ws_public_url("linear"), lambda _frame: None, topics=TOPICS, on_state=events.append
        )
        supervisor.spawn("md-public-ws", stream.connection.supervised)
        try:
            await eventually(lambda: _subscriptions(events) == 1, timeout=10.0)
            assert supervisor.readiness() == (True, "ok")
            _task(f"ws-{stream.connection.name}").cancel()
            await eventually(lambda: not supervisor.readiness()[0], timeout=5.0)
            assert "md-public-ws" in supervisor.readiness()[1]
            await eventually(lambda: _subscriptions(events) == 2, timeout=10.0)
            await eventually(lambda: supervisor.readiness() == (True, "ok"), timeout=5.0)
            # Killing the supervised waiter alone leaves the live socket: no second connection.
            waiter = supervisor.task("md-public-ws")
            assert waiter is not None
            waiter.cancel()
            await eventually(lambda: supervisor.readiness() == (True, "ok"), timeout=5.0)
            assert _task(f"ws-{stream.connection.name}") is not None
            assert _subscriptions(events) == 2
        finally:
            supervisor.close()
            await stream.close()
            await supervisor.stop()
    ends = [r for r in caplog.records if r.getMessage() == "background task ended unexpectedly"]
    assert ends
    assert ends[0].exc_info is not None
    assert "connection task cancelled unexpectedly" in str(ends[0].exc_info[1])

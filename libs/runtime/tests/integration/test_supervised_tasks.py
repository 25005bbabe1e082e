"""Supervised background tasks on a real NATS: an unexpected end is logged, flips /readyz, and
either restarts the task or takes the process down."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import nats
import pytest

from mm_proto import Heartbeat, codec, subjects
from mm_runtime import Runtime, ServiceSettings, load_settings, serve
from mm_runtime.lifecycle import TaskFailedError
from mm_runtime.logs import SecretRegistry
from mm_runtime.tasks import OnEnd
from mm_runtime.testing import NatsServer, eventually, free_port

HERE = Path(__file__).parent


class LoopService:
    """Two restartable loops: `beat` ticks forever; `once` returns after its first tick when
    told to; plus `vital`, whose end must take the process down."""

    name = "loops"

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self.beat_starts = 0
        self.fail_next = False
        self.error_suffix = ""
        self.end_vital = asyncio.Event()

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        runtime.tasks.spawn("beat", self._beat)
        runtime.tasks.spawn("vital", self.end_vital.wait, OnEnd.EXIT)

    async def _beat(self) -> None:
        self.beat_starts += 1
        while True:
            await asyncio.sleep(0.01)
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError(f"beat broke{self.error_suffix}")

    async def stop(self) -> None:
        pass

    def readiness(self) -> tuple[bool, str]:
        return True, "ok"


async def readyz(port: int) -> int:
    """The side port's /readyz status (0 when nothing answers); async, as the port is served by
    this test's own event loop."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(1)
            ) as reply,
        ):
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


class Running:
    def __init__(self, service: LoopService, task: asyncio.Task[Runtime | None]) -> None:
        self.service = service
        self.task = task

    @property
    def runtime(self) -> Runtime:
        assert self.service.runtime is not None
        return self.service.runtime

    def port(self) -> int:
        return self.runtime.health.port


@pytest.fixture
async def running(nats_server: NatsServer) -> AsyncIterator[Running]:
    service = LoopService()
    stop, ready = asyncio.Event(), asyncio.Event()
    settings = load_settings(ServiceSettings, nats={"url": nats_server.url}, http={"port": 0})
    task = asyncio.create_task(serve(service, settings, stop, ready, configure_logs=False))
    await asyncio.wait_for(ready.wait(), timeout=10)
    yield Running(service, task)
    stop.set()
    await asyncio.gather(task, return_exceptions=True)


async def flips_not_ready_then_ready(running: Running) -> None:
    port = running.port()

    async def status_is(wanted: int) -> bool:
        return await readyz(port) == wanted

    await eventually(lambda: status_is(503), timeout=5, interval=0.005, message="not ready")
    await eventually(lambda: status_is(200), timeout=10, message="ready again")


async def test_a_task_that_raises_is_logged_with_its_exception_restarted_and_ready_again(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mm_runtime.tasks")
    first = running.runtime.tasks.task("beat")
    running.service.fail_next = True
    await flips_not_ready_then_ready(running)
    assert running.service.beat_starts == 2
    assert running.runtime.tasks.task("beat") is not first
    (record,) = [
        r for r in caplog.records if r.getMessage() == "background task ended unexpectedly"
    ]
    assert record.exc_info is not None
    assert "beat broke" in str(record.exc_info[1])
    value = running.runtime.registry.get_sample_value(
        "mm_task_unexpected_ends_total", {"task": "beat", "then": "restart"}
    )
    assert value == 1
    assert running.runtime.registry.get_sample_value("mm_ready") == 1


async def test_the_ready_gauge_follows_readiness_while_a_task_is_down(running: Running) -> None:
    registry = running.runtime.registry
    assert registry.get_sample_value("mm_ready") == 1
    running.service.fail_next = True
    await eventually(lambda: registry.get_sample_value("mm_ready") == 0, timeout=5, interval=0.002)
    await eventually(lambda: registry.get_sample_value("mm_ready") == 1, timeout=10)


async def test_a_task_cancelled_from_outside_is_restarted(running: Running) -> None:
    task = running.runtime.tasks.task("beat")
    assert task is not None
    task.cancel()
    await flips_not_ready_then_ready(running)
    assert running.service.beat_starts == 2
    restarted = running.runtime.tasks.task("beat")
    assert restarted is not None
    assert not restarted.done()


async def test_a_task_whose_end_is_fatal_stops_the_service_and_serve_raises(
    running: Running,
) -> None:
    running.service.end_vital.set()
    with pytest.raises(TaskFailedError, match="vital returned"):
        await asyncio.wait_for(running.task, timeout=10)


async def test_stopping_the_service_ends_its_tasks_without_reporting_them(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mm_runtime.tasks")
    service = LoopService()
    stop, ready = asyncio.Event(), asyncio.Event()
    settings = load_settings(ServiceSettings, nats={"url": nats_server.url}, http={"port": 0})
    task = asyncio.create_task(serve(service, settings, stop, ready, configure_logs=False))
    await asyncio.wait_for(ready.wait(), timeout=10)
    beat = service.runtime.tasks.task("beat") if service.runtime else None
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert beat is not None
    assert beat.done()
    assert not caplog.records


async def test_the_process_exits_non_zero_with_the_reason_when_a_fatal_task_ends(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "EXAMPLE_NATS__URL": nats_server.url, "EXAMPLE_HTTP__PORT": str(port)}
    log = tmp_path / "example.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "example_service.py"), env=env, stderr=stderr
        )
    try:

        async def ready() -> bool:
            return await readyz(port) == 200

        await eventually(ready, timeout=15, message="example ready")
        client = await nats.connect(nats_server.url)
        end = Heartbeat(service="end-task", instance_id="0", ts_sent_ns=time.time_ns())
        await client.publish(subjects.heartbeat("example-in"), codec.encode(end))
        await client.close()
        returncode = await asyncio.wait_for(process.wait(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert returncode == 3
    text = log.read_text()
    assert "background task ended unexpectedly" in text
    assert "exiting: background task example-keeper returned" in text


async def test_the_readiness_reason_of_a_failed_task_never_carries_a_secret(
    running: Running,
) -> None:
    secret = "canary-9f86d081884c7d65"
    SecretRegistry.register([secret])
    running.service.error_suffix = f" signing with {secret}"
    running.service.fail_next = True
    tasks = running.runtime.tasks
    await eventually(lambda: not tasks.readiness()[0], timeout=5, interval=0.002)
    reason = tasks.readiness()[1]
    assert "beat broke signing with [REDACTED]" in reason
    assert secret not in reason


class SlowStart(LoopService):
    """A service whose start waits until told, as one subscribing or loading state does."""

    def __init__(self) -> None:
        super().__init__()
        self.may_finish_start = asyncio.Event()

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        await self.may_finish_start.wait()
        await super().start(runtime)


async def test_readyz_stays_not_ready_until_the_services_start_has_finished(
    nats_server: NatsServer,
) -> None:
    service = SlowStart()
    stop, ready = asyncio.Event(), asyncio.Event()
    settings = load_settings(ServiceSettings, nats={"url": nats_server.url}, http={"port": 0})
    task = asyncio.create_task(serve(service, settings, stop, ready, configure_logs=False))
    try:
        runtime = await eventually(
            lambda: service.runtime, timeout=10, message="connected, start running"
        )
        port = runtime.health.port
        for _ in range(5):  # connected to NATS, start still running: not ready
            assert await readyz(port) == 503
            await asyncio.sleep(0.05)
        service.may_finish_start.set()
        await asyncio.wait_for(ready.wait(), timeout=10)
        await eventually(lambda: _status_is(port, 200), timeout=5, message="ready once started")
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)


async def _status_is(port: int, wanted: int) -> bool:
    return await readyz(port) == wanted

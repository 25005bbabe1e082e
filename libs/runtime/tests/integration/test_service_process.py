"""A service built on the runtime, run as a real OS process against a real NATS server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import nats
import pytest

from mm_proto import Heartbeat, codec, subjects
from mm_runtime import ServiceSettings, load_settings, serve
from mm_runtime.testing import NatsServer, eventually, free_port

HERE = Path(__file__).parent
SECRET = "canary-2b7e151628aed2a6"


class ServiceProcess:
    """The example service as a subprocess, with its side-port URL and captured stderr."""

    def __init__(self, env: dict[str, str], stderr_path: Path) -> None:
        self.port = free_port()
        self.stderr_path = stderr_path
        full_env = {**os.environ, **env, "EXAMPLE_HTTP__PORT": str(self.port)}
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "example_service.py")], env=full_env, stderr=self._stderr
        )

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=1) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def terminate(self, timeout_s: float = 10) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout_s)
        return time.monotonic() - started

    def close(self) -> None:
        self._stderr.close()

    def log(self) -> str:
        return self.stderr_path.read_text()


@pytest.fixture
def service(nats_server: NatsServer, tmp_path: Path) -> Iterator[ServiceProcess]:
    secret_file = tmp_path / "api_secret"
    secret_file.write_text(SECRET)
    env = {
        "EXAMPLE_NATS__URL": nats_server.url,
        "EXAMPLE_API_SECRET_FILE": str(secret_file),
        "EXAMPLE_TELEMETRY__EXPORTER": "file",
        "EXAMPLE_TELEMETRY__FILE_PATH": str(tmp_path / "receiver-spans.jsonl"),
    }
    running = ServiceProcess(env, tmp_path / "service.log")
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()
    running.close()


async def wait_ready(service: ServiceProcess) -> None:
    await eventually(lambda: service.get("/readyz")[0] == 200, timeout=15, message="readyz")


async def test_ready_and_healthy_then_sigterm_drains_and_exits_within_the_bound(
    service: ServiceProcess,
) -> None:
    await wait_ready(service)
    assert service.get("/healthz")[0] == 200
    elapsed = service.terminate()
    assert service.process.returncode == 0
    assert elapsed < 8.0
    events = [json.loads(line)["event"] for line in service.log().splitlines()]
    assert events.index("stopping") < events.index("flushing") < events.index("stopped")


async def test_a_configured_secret_never_appears_in_logs_exceptions_or_metrics(
    service: ServiceProcess, nats_server: NatsServer
) -> None:
    await wait_ready(service)
    client = await nats.connect(nats_server.url)
    explode = Heartbeat(service="explode", instance_id="0", ts_sent_ns=time.time_ns())
    await client.publish(subjects.heartbeat("example-in"), codec.encode(explode))
    await client.flush()
    await eventually(lambda: "handler failed" in service.log(), timeout=5)
    status, metrics = service.get("/metrics")
    assert status == 200
    subject = subjects.heartbeat("example-in")
    assert f'mm_bus_handler_errors_total{{subscription="{subject}"}} 1.0' in metrics
    await client.close()
    service.terminate()
    log = service.log()
    assert SECRET not in log
    assert SECRET not in metrics
    assert "venue refused key [REDACTED]" in log
    assert "'**********'" in log or "SecretStr" in log  # the settings object was logged whole


def test_an_uncaught_exception_carrying_a_secret_is_logged_redacted(tmp_path: Path) -> None:
    script = (
        "from mm_runtime.logs import SecretRegistry, configure_logging\n"
        f"SecretRegistry.register(['{SECRET}'])\n"
        "configure_logging('crash')\n"
        f"raise RuntimeError('cannot sign with {SECRET}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1
    assert SECRET not in result.stderr + result.stdout
    assert "cannot sign with [REDACTED]" in result.stderr


def test_invalid_settings_refuse_to_start_naming_the_field_and_reason(tmp_path: Path) -> None:
    env = {"EXAMPLE_HTTP__PORT": "not-a-port", "EXAMPLE_SHUTDOWN_TIMEOUT_S": "-1"}
    result = _run_example(env)
    assert result.returncode == 2
    assert "EXAMPLE_HTTP__PORT: Input should be a valid integer" in result.stderr
    assert "EXAMPLE_SHUTDOWN_TIMEOUT_S: Input should be greater than 0" in result.stderr


def _event_loop_logged(service: ServiceProcess) -> str:
    for line in service.log().splitlines():
        record = json.loads(line)
        if record["event"] == "settings":
            return str(record["event_loop"])
    return ""


@pytest.mark.parametrize(
    ("choice", "module"), [("", "uvloop"), ("asyncio", "asyncio.unix_events"), ("UVLoop", "uvloop")]
)
async def test_a_service_runs_on_uvloop_unless_the_environment_asks_for_asyncio(
    nats_server: NatsServer, tmp_path: Path, choice: str, module: str
) -> None:
    env = {"EXAMPLE_NATS__URL": nats_server.url}
    if choice:
        env["MM_EVENT_LOOP"] = choice
    running = ServiceProcess(env, tmp_path / "service.log")
    try:
        await wait_ready(running)
        assert _event_loop_logged(running) == module
        running.terminate()
        assert running.process.returncode == 0
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
        running.close()


def test_an_unknown_event_loop_refuses_to_start_naming_the_variable() -> None:
    result = _run_example({"MM_EVENT_LOOP": "trio"})
    assert result.returncode == 2
    assert "MM_EVENT_LOOP='trio': expected one of uvloop, asyncio" in result.stderr


async def test_the_receiver_span_in_another_process_is_a_child_of_the_sender_span(
    service: ServiceProcess, nats_server: NatsServer, tmp_path: Path
) -> None:
    await wait_ready(service)
    sender_spans = tmp_path / "sender-spans.jsonl"
    receiver_spans = tmp_path / "receiver-spans.jsonl"
    sender = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "trace_sender.py"), nats_server.url, str(sender_spans)
    )
    assert await asyncio.wait_for(sender.wait(), timeout=30) == 0
    await eventually(receiver_spans.exists, timeout=5, message="receiver exported a span")
    (sent,) = [json.loads(line) for line in sender_spans.read_text().splitlines()]
    (received,) = [json.loads(line) for line in receiver_spans.read_text().splitlines()]
    assert sent["name"] == "example.send"
    assert received["name"] == "example.echo"
    assert received["trace_id"] == sent["trace_id"]
    assert received["parent_span_id"] == sent["span_id"]
    assert received["service"] == "example"
    assert sent["service"] == "sender"


async def test_a_stop_during_a_start_that_never_finishes_still_ends_the_service(
    nats_server: NatsServer,
) -> None:
    blocked = asyncio.Event()

    class StuckService:
        name = "stuck"

        async def start(self, runtime: object) -> None:
            blocked.set()
            await asyncio.Event().wait()  # e.g. a JetStream call while NATS is gone

        async def stop(self) -> None:
            raise AssertionError("a service that never started is not stopped")

        def readiness(self) -> tuple[bool, str]:
            return False, "starting"

    stop = asyncio.Event()
    settings = load_settings(ServiceSettings, nats={"url": nats_server.url})
    task = asyncio.create_task(serve(StuckService(), settings, stop, configure_logs=False))
    await asyncio.wait_for(blocked.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_metrics_count_the_services_live_asyncio_tasks(service: ServiceProcess) -> None:
    await wait_ready(service)
    _status, metrics = service.get("/metrics")
    (line,) = [row for row in metrics.splitlines() if row.startswith("mm_asyncio_tasks ")]
    assert float(line.split()[1]) >= 1
    service.terminate()


async def test_startedz_answers_503_until_the_services_start_has_finished_then_200(
    nats_server: NatsServer,
) -> None:
    """/healthz answers as soon as the side port is open; /startedz only once `start` returned, so
    a supervisor waiting on it knows the service's handlers listen."""
    release, entered = asyncio.Event(), asyncio.Event()

    class SlowStart:
        name = "slow"

        async def start(self, runtime: object) -> None:
            entered.set()
            await release.wait()

        async def stop(self) -> None:
            return None

        def readiness(self) -> tuple[bool, str]:
            return True, "ok"

    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    settings = load_settings(ServiceSettings, nats={"url": nats_server.url}, http={"port": port})
    task = asyncio.create_task(serve(SlowStart(), settings, stop, ready, configure_logs=False))
    try:
        await asyncio.wait_for(entered.wait(), timeout=10)
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            assert await _status(session, "/healthz") == 200
            assert await _status(session, "/startedz") == 503
            release.set()
            await asyncio.wait_for(ready.wait(), timeout=10)
            assert await _status(session, "/startedz") == 200
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def _status(session: aiohttp.ClientSession, path: str) -> int:
    async with session.get(path) as reply:
        return reply.status


def _run_example(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The example service run to its end with `env` added to this environment."""
    return subprocess.run(
        [sys.executable, str(HERE / "example_service.py")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

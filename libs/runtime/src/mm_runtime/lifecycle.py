"""One lifecycle for every process: start, serve until told to stop, shut down within a bound.

`serve(service, settings, stop, ready)` is what each service's `run(settings, stop=None,
ready=None)` calls. It configures logging (registering the settings' secrets with the redactor) and
tracing, opens the side port, connects to NATS, starts the service, sets `ready`, then waits for
`stop`, which SIGTERM and SIGINT set when running in the main thread. Shutdown stops the service's
intake and lets it flush, drains the NATS connection, and closes the side port; the whole shutdown
is bounded by `settings.shutdown_timeout_s`. `main()` is the entry point `__main__` modules call: it
refuses invalid settings with exit code 2 and a message naming the field, and runs the service on
uvloop (its loop, transports and timers are C: some tens of microseconds less CPU for each message
a process receives and sends on; docs/benchmarks.md), or on the stock asyncio loop when the
environment says `MM_EVENT_LOOP=asyncio`.

Background tasks are started through `runtime.tasks` (`mm_runtime.tasks`): readiness is false while
one of them is down, and a task whose end means the process must go (`OnEnd.EXIT`) shuts the
service down as `stop` would, after which `serve` raises `TaskFailedError` and `main()` exits with
code 3 so that the process supervisor starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import uvloop
from prometheus_client import CollectorRegistry

from mm_runtime.barrier import round_trip
from mm_runtime.bus import Bus, connect
from mm_runtime.health import HealthServer
from mm_runtime.logs import SecretRegistry, configure_logging
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.settings import ServiceSettings, SettingsError, load_settings, secret_values
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.telemetry import Telemetry

_log = logging.getLogger("mm_runtime.lifecycle")

EXIT_BAD_SETTINGS = 2
EXIT_TASK_FAILED = 3
EVENT_LOOP_ENV = "MM_EVENT_LOOP"
EVENT_LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": None,  # asyncio.Runner's default: the stock selector loop
}


class TaskFailedError(RuntimeError):
    """A background task whose end takes the process down ended; the message says which and why."""


@dataclass
class Runtime:
    """What a running service is handed: its bus, metrics registry, tracer and side port."""

    name: str
    bus: Bus
    registry: CollectorRegistry
    metrics: RuntimeMetrics
    telemetry: Telemetry
    health: HealthServer
    tasks: TaskSupervisor


class Service(Protocol):
    """A service's wiring: subscribe in `start`, stop intake and flush in `stop`."""

    name: str

    async def start(self, runtime: Runtime) -> None: ...

    async def stop(self) -> None: ...

    def readiness(self) -> tuple[bool, str]: ...


async def serve(
    service: Service,
    settings: ServiceSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    *,
    configure_logs: bool = True,
) -> Runtime | None:
    """Run `service` until `stop` is set (or a signal arrives); returns the runtime it used
    (None when stopped before it connected)."""
    owns_signals = stop is None
    stop = stop or asyncio.Event()
    SecretRegistry.register(secret_values(settings))
    restore_logging = (
        configure_logging(service.name, settings.log.level) if configure_logs else None
    )
    if owns_signals:
        _install_signal_handlers(stop)
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    telemetry = Telemetry(service.name, settings.telemetry)
    tasks = TaskSupervisor(registry)
    runtime: Runtime | None = None
    stopping = False

    def readiness() -> tuple[bool, str]:
        if stopping:
            return False, "stopping"
        if runtime is None or not runtime.bus.client.is_connected:
            return False, "nats not connected"
        if not health.started:  # the service's start has not finished: not subscribed yet
            return False, "starting"
        tasks_ready, reason = tasks.readiness()
        if not tasks_ready:
            return False, reason
        return service.readiness()

    health = HealthServer(settings.http, registry, readiness)
    await health.start()
    try:
        bus = await _unless_stopped(
            connect(settings.nats, f"{service.name}-{settings.instance_id}", metrics), stop
        )
        if bus is None:
            return None
        bus.supervise_with(tasks, service.name)
        runtime = Runtime(service.name, bus, registry, metrics, telemetry, health, tasks)
        if await _unless_stopped(_start(service, runtime), stop) is None:
            # A start blocked on the bus (NATS gone) must not outlive a SIGTERM.
            await tasks.stop()
            await bus.client.close()
            return runtime
        health.started = True
        _log.info("started", extra={"http_port": health.port, "nats": settings.nats.url})
        # mm_ready is /readyz at scrape time: a task down or the bus gone shows as 0.
        metrics.ready.set_function(lambda: 1.0 if readiness()[0] else 0.0)
        if ready is not None:
            ready.set()
        await _first_of(stop.wait(), tasks.fatal_event.wait())
        _log.info("stopping", extra={"task_failed": tasks.fatal})
        stopping = True
        await _shutdown(service, bus, tasks, settings.shutdown_timeout_s)
        if tasks.fatal:
            raise TaskFailedError(f"background task {tasks.fatal}")
    finally:
        await health.stop()
        telemetry.shutdown()
        if owns_signals:
            _remove_signal_handlers()
        _log.info("stopped")
        if restore_logging is not None:
            restore_logging()
    return runtime


ResultT = TypeVar("ResultT")


async def _unless_stopped(
    work: Coroutine[Any, Any, ResultT], stop: asyncio.Event
) -> ResultT | None:
    """`work`'s result, or None (with `work` cancelled) when `stop` is set first."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _first_of(*waits: Coroutine[Any, Any, Any]) -> None:
    """Return when the first of `waits` finishes; the others are cancelled."""
    pending = {asyncio.ensure_future(wait) for wait in waits}
    _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _start(service: Service, runtime: Runtime) -> bool:
    """Start the service; if that fails, close the connection before the error propagates."""
    try:
        await service.start(runtime)
        await round_trip(runtime.bus.client)  # the server has every subscription before ready
    except BaseException:
        await runtime.tasks.stop()
        await runtime.bus.client.close()
        raise
    runtime.metrics.ready.set(1)
    return True


async def _shutdown(service: Service, bus: Bus, tasks: TaskSupervisor, timeout_s: float) -> None:
    """Stop intake and flush, then drain; past the bound, close the connection regardless."""

    async def orderly() -> None:
        tasks.close()  # from here a task that ends is expected to: nothing restarts
        try:
            await service.stop()
        finally:
            await tasks.stop()
            await bus.drain()

    try:
        await asyncio.wait_for(orderly(), timeout=timeout_s)
    except TimeoutError:
        _log.error("shutdown exceeded its bound; closing", extra={"bound_s": timeout_s})
        await bus.client.close()


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(number, stop.set)
        except (RuntimeError, ValueError):
            # Not the main thread (a test running the service in-process): the caller owns `stop`.
            return


def _remove_signal_handlers() -> None:
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(RuntimeError, ValueError):
            loop.remove_signal_handler(number)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def main(
    settings_type: type[SettingsT],
    run: Callable[[SettingsT], Coroutine[Any, Any, Any]],
) -> None:
    """Entry point for `python -m <service>`: load settings or exit 2 naming the field, then run."""
    try:
        settings = load_settings(settings_type)
        loop_factory = event_loop_factory(os.environ.get(EVENT_LOOP_ENV, ""))
    except SettingsError as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run(settings))
    except TaskFailedError as error:
        print(f"exiting: {error}", file=sys.stderr)
        raise SystemExit(EXIT_TASK_FAILED) from None


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop `main()` runs on for `MM_EVENT_LOOP=name` (empty: uvloop)."""
    choice = name.strip().lower() or "uvloop"
    if choice not in EVENT_LOOPS:
        known = ", ".join(EVENT_LOOPS)
        raise SettingsError(f"{EVENT_LOOP_ENV}={name!r}: expected one of {known}")
    return EVENT_LOOPS[choice]

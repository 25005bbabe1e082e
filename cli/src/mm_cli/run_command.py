"""`mm run`: start the local stack under the supervisor and show it until Ctrl-C or a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client
from rich.console import Console
from rich.live import Live

from mm_cli.bus_connect import BusUnreachableError, connect
from mm_cli.local_stack import StackLayout, build_stack
from mm_cli.market_watch import MarketWatch, probe_readiness, scrape_metrics
from mm_cli.monitoring import MonitoringUnavailableError
from mm_cli.stack_claim import StackBusyError, claim_stack
from mm_cli.status_view import headless_lines, render
from mm_cli.supervisor import ChildSpec, Supervisor

_log = logging.getLogger("mm_cli.run")
HEADLESS_INTERVAL_S = 5.0
LIVE_INTERVAL_S = 1.0


NOT_SERVICES = frozenset({"nats", "sim", "prometheus", "alertmanager", "rollout"})


def _is_service(name: str) -> bool:
    """NATS nodes, the simulator and the monitoring have no /readyz: their own probe stands."""
    return name not in NOT_SERVICES and not name.startswith("nats-")


async def run_stack(layout: StackLayout, headless: bool, duration_s: float | None) -> int:
    """Run until SIGINT/SIGTERM (or `duration_s`); always stop every child before returning."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    console = Console()
    try:
        lock, specs = claim_stack(layout, lambda: build_stack(layout))
    except (MonitoringUnavailableError, StackBusyError) as error:
        console.print(f"[red]{error}[/red]")
        return 1
    try:
        return await _supervise(layout, specs, console, stop, duration_s, headless)
    finally:
        lock.release()


async def _supervise(
    layout: StackLayout,
    specs: list[ChildSpec],
    console: Console,
    stop: asyncio.Event,
    duration_s: float | None,
    headless: bool,
) -> int:
    supervisor = Supervisor(specs, layout.log_dir)
    _log_to_file(layout, headless)
    try:
        console.print(f"starting the local stack in {layout.run_dir} …")
        await supervisor.start()
        console.print("all processes ready")
        await _present(supervisor, layout, console, stop, duration_s, headless)
        return 0
    except (RuntimeError, BusUnreachableError) as error:
        console.print(f"[red]{error}[/red]")
        return 1
    finally:
        console.print("stopping …")
        await supervisor.stop()
        console.print("stopped")


def _log_to_file(layout: StackLayout, headless: bool) -> None:
    """The supervisor's own events go to `logs/mm.log` (and to the terminal when headless)."""
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(layout.log_dir / "mm.log")]
    if headless:
        handlers.append(logging.StreamHandler())
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=handlers,
        force=True,
    )


async def _present(
    supervisor: Supervisor,
    layout: StackLayout,
    console: Console,
    stop: asyncio.Event,
    duration_s: float | None,
    headless: bool,
) -> None:
    """Headless: the view's facts as plain lines every HEADLESS_INTERVAL_S; else the live view,
    redrawn every LIVE_INTERVAL_S."""
    children = supervisor.children
    if headless:

        def print_lines(health: dict[str, str], watch: MarketWatch) -> None:
            for line in headless_lines(children, health, watch):
                console.print(line, markup=False, highlight=False, soft_wrap=True)

        await _watch(supervisor, layout, stop, duration_s, print_lines, HEADLESS_INTERVAL_S)
        return
    with Live(console=console, refresh_per_second=2) as live:

        def redraw(health: dict[str, str], watch: MarketWatch) -> None:
            live.update(render(children, layout, health, watch))

        await _watch(supervisor, layout, stop, duration_s, redraw, LIVE_INTERVAL_S)


async def _watch(
    supervisor: Supervisor,
    layout: StackLayout,
    stop: asyncio.Event,
    duration_s: float | None,
    show: Callable[[dict[str, str], MarketWatch], None],
    interval_s: float,
) -> None:
    """Refresh the facts and `show` them every `interval_s` until `stop` or `duration_s`."""
    loop = asyncio.get_running_loop()
    deadline = None if duration_s is None else loop.time() + duration_s
    health: dict[str, str] = {}
    watch = MarketWatch("bybit", "linear", layout.symbols)
    client = await connect(
        layout.nats_url,
        "mm-run-view",
        layout.operator_auth(),
        on_error=_log_bus_error,
        keep_reconnecting=True,
    )
    await watch.attach(client)
    try:
        while not stop.is_set():
            await refresh_view(supervisor, layout, health, watch, client)
            show(health, watch)
            remaining = interval_s
            if deadline is not None:
                remaining = min(remaining, deadline - loop.time())
                if remaining <= 0:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=remaining)
    finally:
        await client.drain()


async def _log_bus_error(error: Exception) -> None:
    _log.warning("bus error in the view's connection: %s", error)


async def refresh_view(
    supervisor: Supervisor,
    layout: StackLayout,
    health: dict[str, str],
    watch: MarketWatch,
    client: Client,
) -> None:
    """Readiness (`/readyz`) of every service, quoter and risk status, latency metrics."""
    for child in supervisor.children:
        port = child.spec.http_port
        if port and _is_service(child.spec.name):
            health[child.spec.name] = await probe_readiness(port)
        elif child.spec.ready is not None:
            health[child.spec.name] = "ok" if await child.spec.ready() else "down"
    await watch.poll_status(client)
    samples: dict[str, float] = {}
    for service in ("quoter", "executor", "ledger"):
        samples.update(await scrape_metrics(layout.http_port(service)))
    watch.metrics = samples


def run(
    run_dir: Path,
    base_port: int,
    symbols: list[str],
    headless: bool,
    duration_s: float | None,
    nats_nodes: int = 1,
    monitoring: bool = False,
    shards: int = 1,
) -> int:
    layout = StackLayout(
        run_dir=run_dir.resolve(),
        base_port=base_port,
        symbols=tuple(symbols),
        nats_nodes=nats_nodes,
        monitoring=monitoring,
        shards=shards,
    )
    return asyncio.run(run_stack(layout, headless, duration_s))

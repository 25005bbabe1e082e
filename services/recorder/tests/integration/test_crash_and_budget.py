"""`python -m recorder` SIGKILLed while recording, restarted; and a directory over its budget."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from mm_runtime.testing import eventually
from mm_sim.testing import SimulatorHandle
from recorder import Frame, Kind, ReadStats, read
from recorder.layout import HOUR_NS, SymbolKey, path_for, recorded_files
from recorder.lines import venue_line
from recorder.writer import HourlyWriter

from .conftest import Rig, book_runs, metric

SYMBOLS = ("BTCUSDT", "ETHUSDT")


class RecorderProcess:
    """`python -m recorder` with the environment names `mm run` passes."""

    def __init__(self, rig: Rig, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RECORDER_")} | {
            "RECORDER_NATS__URL": rig.nats_server.url,
            "RECORDER_HTTP__PORT": "0",
            "RECORDER_SYMBOLS": ",".join(SYMBOLS),
            "RECORDER_DIR": str(rig.out),
            "RECORDER_VENUE__WS_URL": f"ws://{rig.sim.host}:{rig.sim.port}",
            "RECORDER_FLUSH_INTERVAL_S": "0.02",
        }
        self.logs = tmp_path
        self.process: subprocess.Popen[bytes] | None = None
        self.lives = 0

    def start(self) -> None:
        self.lives += 1
        with (self.logs / f"recorder-{self.lives}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "recorder"], env=self.env, stdout=log, stderr=log
            )

    async def signal(self, number: int) -> int:
        assert self.process is not None
        self.process.send_signal(number)
        return await asyncio.to_thread(self.process.wait, 15)


@contextlib.asynccontextmanager
async def market_moving(sim: SimulatorHandle) -> AsyncIterator[None]:
    async def step() -> None:
        while True:
            await sim.admin.step(1, advance_ms=10)

    task = asyncio.create_task(step())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def venue_frames(frames: list[Frame]) -> list[bytes]:
    return [f.raw for f in frames if f.kind is Kind.VENUE]


async def recorded_up_to(rig: Rig, symbol: str) -> bool:
    """The files hold the simulator's current orderbook.50 update of `symbol`."""
    live = await rig.sim.admin.book(symbol, depth=50)
    topic = f'"topic":"orderbook.50.{symbol}"'.encode()
    ids = [f.message()["data"]["u"] for f in read(rig.out, symbols=[symbol]) if topic in f.raw]
    return bool(ids) and ids[-1] == live["u"]


async def test_a_recorder_killed_mid_recording_loses_only_the_unflushed_tail_and_resumes(
    rig: Rig, tmp_path: Path
) -> None:
    recorder = RecorderProcess(rig, tmp_path)
    recorder.start()
    async with market_moving(rig.sim):
        await eventually(
            lambda: sum(p.stat().st_size for p in recorded_files(rig.out)) > 20_000, timeout=30
        )
        assert await recorder.signal(signal.SIGKILL) == -signal.SIGKILL
    stats = ReadStats()
    before = list(read(rig.out, stats=stats))  # never raises on what the kill left
    assert stats.truncated_lines <= len(SYMBOLS)
    for symbol in SYMBOLS:
        (run,) = book_runs([f for f in before if f.symbol == symbol])
        assert len(run[f"orderbook.50.{symbol}"]) > 10
    recorder.start()
    async with market_moving(rig.sim):
        await eventually(lambda: len(read_gaps(rig)) >= 2 * len(SYMBOLS), timeout=30)
    for symbol in SYMBOLS:
        await eventually(lambda symbol=symbol: recorded_up_to(rig, symbol), timeout=10)
    assert await recorder.signal(signal.SIGTERM) == 0
    stats = ReadStats()
    after = list(read(rig.out, stats=stats))
    assert (stats.truncated_lines, stats.corrupt_files, stats.bad_lines) == (0, 0, 0)
    for symbol in SYMBOLS:
        mine = [f for f in after if f.symbol == symbol]
        assert [f.reason for f in mine if f.kind is Kind.GAP] == ["recorder started"] * 2
        runs = book_runs(mine)  # each run opens with a snapshot; u follows by one inside it
        assert len(runs) == 2
        kept = [f for f in before if f.symbol == symbol]
        # Every whole line readable right after the kill is still there, in place.
        assert venue_frames(mine)[: len(venue_frames(kept))] == venue_frames(kept)


def read_gaps(rig: Rig) -> list[Frame]:
    return list(read(rig.out, kinds=[Kind.GAP]))


async def test_over_budget_the_oldest_hours_go_and_recording_carries_on(rig: Rig) -> None:
    old = HourlyWriter(rig.out)
    key = SymbolKey("bybit", "linear", "BTCUSDT")
    start = 1_700_000_000_000_000_000 - 1_700_000_000_000_000_000 % HOUR_NS
    old_hours = [start + hour * HOUR_NS for hour in range(3)]
    for ts in old_hours:
        for n in range(200):
            payload = b'{"topic":"publicTrade.BTCUSDT","n":%d,"pad":"%s"}' % (
                n,
                os.urandom(40).hex().encode(),
            )
            line = venue_line(ts + n, payload)
            assert line is not None
            old.add(key, ts + n, line)
    old.close()
    old_paths = [path_for(rig.out, key, ts) for ts in old_hours]
    assert all(path.exists() for path in old_paths)
    budget = sum(p.stat().st_size for p in old_paths[1:]) + 2_000
    settings = rig.settings(budget_bytes=budget, budget_interval_s=0.05)
    async with rig.running(settings) as service:
        await eventually(lambda: service.readiness()[0], timeout=10)
        for _ in range(20):
            await rig.sim.admin.step(1, advance_ms=50)
        await eventually(lambda: not old_paths[0].exists(), timeout=10)
        assert old_paths[2].exists()  # only what the budget needed, oldest first
        for _ in range(200):
            await rig.sim.admin.step(1, advance_ms=50)
        await eventually(lambda: metric(settings, "recorder_over_budget"), timeout=10)
        assert not any(path.exists() for path in old_paths)
        deleted = await metric(settings, "recorder_budget_deleted_files_total")
        assert deleted == 3
        written = service.writer.counts.lines
        for _ in range(20):
            await rig.sim.admin.step(1, advance_ms=50)
        await eventually(lambda: service.writer.counts.lines > written)  # still recording
        assert service.readiness() == (
            True,
            "recording; over the disk budget with only open files left",
        )
    (run,) = book_runs(list(read(rig.out, symbols=["BTCUSDT"])))
    assert len(run["orderbook.50.BTCUSDT"]) > 100

"""A real lease holder frozen by SIGSTOP past its ttl wakes up with an expired lease and writes
nothing, while another replica has taken the symbol over."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
from prometheus_client import CollectorRegistry

from mm_proto import subjects
from mm_runtime.jetstream import ensure_layout, key_value
from mm_runtime.lease_keeper import LeaseKeeper, LeaseMetrics
from mm_runtime.symbol_lease import LeaseTiming
from mm_runtime.testing import NatsServer, eventually

TIMING = LeaseTiming(ttl_s=1.2, margin_s=0.2)  # as lease_writer.py

HERE = Path(__file__).parent


def writes(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text(encoding="utf-8").split()]


async def test_a_sigstopped_holder_wakes_with_an_expired_lease_and_does_not_write(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    client = await nats.connect(nats_server.url)
    await ensure_layout(client.jetstream())
    output = tmp_path / "writes"
    holder = subprocess.Popen(  # noqa: ASYNC220 - started once; signalled, never awaited
        [sys.executable, str(HERE / "lease_writer.py"), nats_server.url, str(output)]
    )
    contender_task: asyncio.Task[None] | None = None
    try:
        await eventually(lambda: len(writes(output)) > 10, timeout=10, message="a holds and writes")

        async def bucket():  # type: ignore[no-untyped-def]
            return await key_value(client.jetstream(), subjects.LEASE_BUCKET)

        taken: list[int] = []

        async def acquired(symbol: str, epoch: int) -> None:
            taken.append(time.time_ns())

        contender = LeaseKeeper(
            bucket, "executor", ("b", "boot-b"), ["BTCUSDT"], ["a", "b"], TIMING,
            LeaseMetrics(CollectorRegistry()), acquired, lambda symbol, reason: None,
        )  # fmt: skip
        contender_task = asyncio.create_task(contender.run())
        holder.send_signal(signal.SIGSTOP)
        stopped_ns = time.time_ns()
        await eventually(lambda: contender.valid("BTCUSDT"), timeout=TIMING.ttl_s + 3)
        await asyncio.sleep(0.5)  # frozen well past the ttl
        holder.send_signal(signal.SIGCONT)
        woke_ns = time.time_ns()
        await asyncio.sleep(1.0)  # awake: its writer loop runs every 5 ms
        after = [stamp for stamp in writes(output) if stamp > stopped_ns]
        first_ms = (after[0] - woke_ns) / 1e6 if after else 0.0
        assert after == [], f"{len(after)} writes after the freeze, first {first_ms:.1f} ms awake"
        assert taken
        assert taken[0] > stopped_ns
        assert holder.poll() is None  # alive: it stopped writing, it did not die
    finally:
        if contender_task is not None:
            contender_task.cancel()
        holder.kill()
        holder.wait()
        await client.close()

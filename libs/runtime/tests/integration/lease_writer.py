"""A lease holder as a real OS process: holds `executor.BTCUSDT` as replica `a` and appends the
wall time of every write it makes (one each 5 ms while its lease is valid) to a file.

Run by `test_lease_process.py`, which freezes it with SIGSTOP. Arguments: NATS URL, output path.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import nats
from prometheus_client import CollectorRegistry

from mm_proto import subjects
from mm_runtime.jetstream import key_value
from mm_runtime.lease_keeper import LeaseKeeper, LeaseMetrics
from mm_runtime.symbol_lease import LeaseTiming

TIMING = LeaseTiming(ttl_s=1.2, margin_s=0.2)


async def main(url: str, output: Path) -> None:
    client = await nats.connect(url)

    async def bucket():  # type: ignore[no-untyped-def]
        return await key_value(client.jetstream(), subjects.LEASE_BUCKET)

    async def acquired(symbol: str, epoch: int) -> None:
        return None

    keeper = LeaseKeeper(
        bucket, "executor", ("a", "boot-a"), ["BTCUSDT"], ["a"], TIMING,
        LeaseMetrics(CollectorRegistry()), acquired, lambda symbol, reason: None,
    )  # fmt: skip
    task = asyncio.create_task(keeper.run())
    with output.open("a", encoding="utf-8") as writes:
        while not task.done():
            if keeper.valid("BTCUSDT"):  # the check a writer makes right before it sends
                writes.write(f"{time.time_ns()}\n")
                writes.flush()
            await asyncio.sleep(0.005)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))

"""The bare nats-py floor: one publish -> nats-server -> a subscriber in another process.

`bench_latency.py` measures it on the stack's own nats-server while the stack runs, so the floor
sees the same machine and the same load as the stack's hops. This process publishes a wall-clock
stamp `rate_hz` times a second on the operator's private inbox (the only subject the `operator`
bus user may both publish and subscribe); a child process (this file's `main`) subscribes with
plain `nats.connect(...)` and `subscribe(cb=...)` (no msgspec, tracing or metrics), records
receive time minus stamp, and on "end" prints its samples (ns) as JSON.

The child runs on the event loop the services run on (uvloop unless `MM_EVENT_LOOP=asyncio`, as
`mm_runtime.lifecycle.main` decides), so the floor and the hops share a loop; it imports nothing of
the runtime, so a comparison run may point the services at another runtime tree.

The rate is the load's book frame rate: a process woken rarely answers slower (~0.6 ms at 10 Hz,
~0.2 ms at 1000 Hz on an idle 2-core machine), so the floor is taken at the rate the hops run at.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import nats
import uvloop

SUBJECT_TAIL = "benchfloor"
# The samples come back as one JSON line: 500 Hz for 25 s on a quiet machine is ~12,500 numbers,
# well past asyncio's default 64 KiB line limit.
SAMPLES_LINE_LIMIT = 64 * 1024 * 1024


class FloorProbe:
    """Runs the subscriber child and publishes stamps until `finish()`."""

    def __init__(self, client: Any, nats_url: str, options: dict[str, str], rate_hz: float) -> None:
        self.client = client
        self.rate_hz = rate_hz
        self.subject = f"{options['inbox_prefix']}.{SUBJECT_TAIL}"
        self._child_input = json.dumps(
            {"url": nats_url, "options": options, "subject": self.subject}
        )
        self._child: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__)), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=SAMPLES_LINE_LIMIT,
        )  # fmt: skip
        assert self._child.stdin is not None
        assert self._child.stdout is not None
        self._child.stdin.write(self._child_input.encode() + b"\n")
        await self._child.stdin.drain()
        await asyncio.wait_for(self._child.stdout.readline(), 15)  # "ready"

    def measure(self) -> None:
        """Start publishing (the window begins)."""
        self._task = asyncio.create_task(self._publish(), name="bench-floor-publish")

    async def _publish(self) -> None:
        while True:
            await self.client.publish(self.subject, str(time.time_ns()).encode())
            await asyncio.sleep(1 / self.rate_hz)

    async def finish(self) -> list[int]:
        """Stop publishing and collect the child's samples (ns)."""
        if self._task is not None:
            self._task.cancel()
        assert self._child is not None
        assert self._child.stdout is not None
        await self.client.publish(self.subject, b"end")
        await self.client.flush()
        line = await asyncio.wait_for(self._child.stdout.readline(), 15)
        await self._child.wait()
        return [int(value) for value in json.loads(line)]


async def _subscribe(config: dict[str, Any]) -> None:
    client = await nats.connect(config["url"], **config["options"])
    samples: list[int] = []
    done = asyncio.Event()

    async def on_message(msg: Any) -> None:
        if msg.data == b"end":
            done.set()
            return
        samples.append(time.time_ns() - int(msg.data))

    await client.subscribe(config["subject"], cb=on_message)
    await client.flush()
    print("ready", flush=True)
    await done.wait()
    await client.close()
    print(json.dumps(samples), flush=True)


def main() -> None:
    config = json.loads(sys.stdin.readline())
    on_asyncio = os.environ.get("MM_EVENT_LOOP", "").strip().lower() == "asyncio"
    with asyncio.Runner(loop_factory=None if on_asyncio else uvloop.new_event_loop) as runner:
        runner.run(_subscribe(config))


if __name__ == "__main__":
    main()

"""The gateway's publishing queue: frame handlers enqueue encoded messages, one task sends them.

The venue stream calls its frame handler synchronously, so handlers cannot await a publish; they
append here instead and the sender task hands everything queued to the NATS client in one go
(nats-py buffers and flushes on its own). The `md.tick` span of a book update ends when its
message is handed over, and publish lag (frame receive time to hand-over) is measured there too.
A publish that fails (NATS down and its buffer full) is counted and dropped: market data is
latest-wins, and a stale top is worse than a missing one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import NamedTuple

from nats.aio.client import Client
from opentelemetry.trace import Span
from prometheus_client import Counter

from mm_runtime.logs import RateLimitedLog
from mm_runtime.loop_metrics import CounterChild, LoopHistogram
from mm_runtime.tasks import TaskSupervisor

_log = logging.getLogger("md_gateway.outbox")
_TASK = "md_gateway-outbox"


class Outgoing(NamedTuple):
    """One encoded message; `span` and `received_ns` only for book updates."""

    subject: str
    payload: bytes
    headers: dict[str, str] | None
    span: Span | None
    received_ns: int
    published: CounterChild


class Outbox:
    """A FIFO of encoded messages and the task that publishes them in order."""

    def __init__(self, client: Client, lag: LoopHistogram, failures: Counter) -> None:
        self._client = client
        self._lag = lag.labels()  # the child itself: observed once per book update
        self._failures = failures
        self._queue: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self._tasks: TaskSupervisor | None = None
        self._failure_log = RateLimitedLog(_log)

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, message: Outgoing) -> None:
        """Queue one message; safe to call from synchronous callbacks on the loop."""
        self._queue.append(message)
        if not self._wake.is_set():
            self._wake.set()

    def start(self, tasks: TaskSupervisor) -> None:
        """Run the sender under `tasks` (restarted if it ends: the queue keeps its messages)."""
        self._tasks = tasks
        tasks.spawn(_TASK, self._run)

    async def close(self) -> None:
        """Publish what is queued, then stop the sender."""
        await self._send_queued()
        if self._tasks is not None:
            await self._tasks.cancel(_TASK)
            self._tasks = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._send_queued()

    async def _send_queued(self) -> None:
        queue = self._queue
        publish = self._client.publish
        lag = self._lag
        while queue:
            subject, payload, headers, span, received_ns, published = queue.popleft()
            try:
                await publish(subject, payload, headers=headers)
            except Exception as error:
                self._failures.inc()
                self._failure_log.warning(
                    "publish", "publish failed", subject=subject, error=repr(error)
                )
                if span is not None:
                    span.end()
                continue
            published.inc()
            if span is not None:
                span.end()
            if received_ns:
                lag.observe((time.time_ns() - received_ns) / 1e9)

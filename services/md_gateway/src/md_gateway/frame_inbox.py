"""Between the venue stream and the books: a FIFO of frames handled by one task that yields.

The WebSocket reader hands over every frame already buffered before it gives the event loop back,
often hundreds at once. Handled inline, the first book of such a burst would wait for the whole
burst before the NATS client could send it. Here the reader only enqueues; the handler task works
through the queue and yields every few frames, so the publisher and the NATS flusher send the
first books while the rest are still being applied. Order is kept. If the queue grows past its
limit (the gateway cannot keep up), the reader handles the backlog itself, inline, which stops it
reading and pushes back on the venue through TCP instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from prometheus_client import Counter

from mm_bybit.ws_public import PublicFrame
from mm_runtime.tasks import TaskSupervisor

_log = logging.getLogger("md_gateway.frames")
_TASK = "md_gateway-frames"

FRAMES_PER_YIELD = 16
QUEUE_LIMIT = 512


class FrameInbox:
    """Queues frames from the stream's callback and hands them, in order, to `handle`."""

    def __init__(self, handle: Callable[[PublicFrame], None], errors: Counter) -> None:
        self._handle = handle
        self._errors = errors
        self._queue: deque[PublicFrame] = deque()
        self._wake = asyncio.Event()
        self._tasks: TaskSupervisor | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, frame: PublicFrame) -> None:
        """The stream's frame callback."""
        self._queue.append(frame)
        if len(self._queue) >= QUEUE_LIMIT:
            self._handle_queued()
        elif not self._wake.is_set():
            self._wake.set()

    def discard(self) -> int:
        """Drop what is queued (frames of a connection that is gone); return how many."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    def start(self, tasks: TaskSupervisor) -> None:
        """Handle frames in a task under `tasks` (restarted if it ends: the queue keeps them)."""
        self._tasks = tasks
        tasks.spawn(_TASK, self._run)

    async def close(self) -> None:
        """Stop handling; frames still queued are dropped (the stream is closed first)."""
        if self._tasks is not None:
            await self._tasks.cancel(_TASK)
            self._tasks = None
        self._queue.clear()

    async def _run(self) -> None:
        queue = self._queue
        while True:
            await self._wake.wait()
            self._wake.clear()
            handled = 0
            while queue:
                self._handle_one(queue.popleft())
                handled += 1
                if handled % FRAMES_PER_YIELD == 0:
                    await asyncio.sleep(0)

    def _handle_queued(self) -> None:
        queue = self._queue
        while queue:
            self._handle_one(queue.popleft())

    def _handle_one(self, frame: PublicFrame) -> None:
        try:
            self._handle(frame)
        except Exception:
            # A bug, not bad input (bad frames are counted where they are parsed): keep going.
            self._errors.inc()
            _log.exception("frame handler failed", extra={"topic": frame.topic})

"""Fresh snapshots on demand: resubscribe a symbol's book topic so the venue sends a snapshot.

Bybit (and the simulator) answer a subscribe with a snapshot, so after a gap or a refused frame
the cheapest way back to a trustworthy book is unsubscribe + subscribe on the same connection.
Requests are batched (every symbol asked for since the last round goes in one request each way)
and run in one task, never in the frame path. A round that fails is logged; the feed state's
resync timeout asks again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from md_gateway.feed_state import StatusChange
from md_gateway.symbol_book import SymbolBook
from mm_bybit.ws_public import PublicStream
from mm_runtime.tasks import TaskSupervisor

_log = logging.getLogger("md_gateway.resync")
_TASK = "md_gateway-resync"

OnChange = Callable[[SymbolBook, StatusChange, str], None]


class Resyncer:
    """Collects resync requests and resubscribes their topics from one task."""

    def __init__(self, books: dict[str, SymbolBook], on_change: OnChange) -> None:
        self._books = books
        self._on_change = on_change
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: TaskSupervisor | None = None
        self.stream: PublicStream | None = None

    def request(self, symbol: str) -> None:
        """Ask for a fresh snapshot of `symbol` (safe from synchronous callbacks)."""
        self._pending.add(symbol)
        self._wake.set()

    def start(self, stream: PublicStream, tasks: TaskSupervisor) -> None:
        """Run under `tasks` (restarted if it ends: requests wait in `_pending`)."""
        self.stream = stream
        self._tasks = tasks
        tasks.spawn(_TASK, self._run)

    async def close(self) -> None:
        if self._tasks is not None:
            await self._tasks.cancel(_TASK)
            self._tasks = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            symbols = sorted(self._pending)
            self._pending.clear()
            try:
                await self.resync(symbols)
            except Exception:
                _log.exception(
                    "resync failed; it is retried on timeout", extra={"symbols": symbols}
                )

    async def resync(self, symbols: list[str]) -> None:
        """Unsubscribe and subscribe again: the venue's next message is a fresh snapshot."""
        stream = self.stream
        books = [self._books[s] for s in symbols if self._books[s].feed.needs_snapshot]
        if stream is None or not books or not stream.connection.connected:
            return  # a reconnect subscribes every topic afresh anyway
        now = time.monotonic()
        for book in books:
            change = book.feed.on_resync_started(now)
            if change is not None:
                self._on_change(book, change, "resync")
        topics = [book.topic for book in books]
        await stream.unsubscribe(topics)
        await stream.subscribe(topics)

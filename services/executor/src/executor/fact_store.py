"""Storing the executor's facts on JetStream, and failing closed while they cannot be stored.

Every venue fact (order event, fill, position, refusal) goes through `FactStore.publish`. When a
publish fails (JetStream off, the store unwritable, the server unreachable) or the periodic probe
of the account fails twice in a row, the store is *down*: `on_down(reason)` tells the service to
cancel its orders and stop acting on targets, the fact that failed and every later one wait in a
bounded backlog in arrival order, and `run` retries the oldest with backoff. Once the backlog is
stored and the probe answers, the store is *up* again and `on_up()` lets the service reconcile and
resume. A fact that does not fit in the full backlog is dropped and counted (the venue keeps the
truth: a restart's catch-up publishes it again under the same message id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from executor.metrics import ExecutorMetrics
from mm_runtime.jetstream import publish_fact

_log = logging.getLogger("executor.facts")

PUBLISH_ATTEMPTS = 2  # a second try after a short pause, then the store is down
PUBLISH_TIMEOUT_S = 2.0
PROBE_INTERVAL_S = 1.0
PROBE_MISSES = 2  # consecutive failed probes that mean the store is down
RETRY_MIN_S, RETRY_MAX_S = 0.1, 2.0
BACKLOG_LIMIT = 10_000

StoreErrors = (NatsError, TimeoutError)


@dataclass(frozen=True)
class Fact:
    """One fact waiting to be stored; `on_new` runs when the server stores it as new."""

    subject: str
    message: msgspec.Struct
    message_id: str
    on_new: Callable[[], None] | None = None


class FactStore:
    """Publishes facts in order; holds them back, in order, while JetStream cannot store them."""

    def __init__(
        self,
        jetstream: JetStreamContext,
        metrics: ExecutorMetrics,
        on_down: Callable[[str], None],
        on_up: Callable[[], None],
        backlog_limit: int = BACKLOG_LIMIT,
    ) -> None:
        self.jetstream = jetstream
        self.metrics = metrics
        self._on_down = on_down
        self._on_up = on_up
        self.backlog: deque[Fact] = deque()
        self.backlog_limit = backlog_limit
        self.down_reason: str | None = None
        self._down = asyncio.Event()
        self._misses = 0

    async def publish(
        self,
        subject: str,
        message: msgspec.Struct,
        message_id: str,
        on_new: Callable[[], None] | None = None,
    ) -> bool:
        """Store one fact; True when stored now as new. While the store is down (or when this
        publish fails) the fact joins the backlog and False is returned."""
        fact = Fact(subject, message, message_id, on_new)
        if self.down_reason is not None:
            self._keep(fact)
            return False
        error: Exception | None = None
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                return await self._store(fact)
            except StoreErrors as failure:
                error = failure
                _log.warning(
                    "publish failed",
                    extra={"subject": subject, "attempt": attempt, "error": repr(failure)},
                )
                await asyncio.sleep(RETRY_MIN_S)
            if self.down_reason is not None:  # another publish found it down meanwhile
                break
        self._keep(fact)
        await self._go_down(f"jetstream cannot store facts: {error!r}")
        return False

    async def _store(self, fact: Fact) -> bool:
        new = await publish_fact(
            self.jetstream, fact.subject, fact.message, fact.message_id, PUBLISH_TIMEOUT_S
        )
        if new and fact.on_new is not None:
            fact.on_new()
        return new

    def _keep(self, fact: Fact) -> None:
        if len(self.backlog) >= self.backlog_limit:
            self.metrics.dropped.labels("publish", "backlog_full").inc()
            _log.error(
                "fact backlog full; dropped a fact",
                extra={"subject": fact.subject, "message_id": fact.message_id},
            )
            return
        self.backlog.append(fact)
        self.metrics.fact_backlog.set(len(self.backlog))

    async def _go_down(self, reason: str) -> None:
        if self.down_reason is not None:
            return
        self.down_reason = reason
        self.metrics.fact_store_down.set(1)
        self.metrics.fact_store_outages.inc()
        _log.error("fact store down; failing closed", extra={"reason": reason})
        self._down.set()
        self._on_down(reason)

    async def run(self) -> None:
        """Probe while up; while down, store the backlog in order, then come back up."""
        while True:
            if self.down_reason is None:
                try:
                    await asyncio.wait_for(self._down.wait(), PROBE_INTERVAL_S)
                except TimeoutError:
                    await self._probe_while_up()
                continue
            await self._drain()
            self._come_up()

    async def _probe_while_up(self) -> None:
        error = await self._probe()
        self._misses = 0 if error is None else self._misses + 1
        if error is not None and self._misses >= PROBE_MISSES:
            await self._go_down(f"jetstream unreachable: {error}")

    async def _probe(self) -> str | None:
        try:
            await asyncio.wait_for(self.jetstream.account_info(), PUBLISH_TIMEOUT_S)
        except StoreErrors as error:
            return repr(error)
        except Exception as error:  # an unexpected answer is not a store that works
            _log.exception("jetstream probe failed unexpectedly")
            return repr(error)
        return None

    async def _drain(self) -> None:
        """Store the backlog oldest first; return once it is empty and the store answers."""
        delay = RETRY_MIN_S
        while True:
            try:
                while self.backlog:
                    await self._store(self.backlog[0])
                    self.backlog.popleft()
                    self.metrics.fact_backlog.set(len(self.backlog))
                    delay = RETRY_MIN_S
                error = await self._probe()
                if error is None and not self.backlog:
                    return
            except StoreErrors as failure:
                error = repr(failure)
            except Exception:  # this fact cannot be stored at all: drop it, never wedge on it
                dropped = self.backlog.popleft()
                self.metrics.dropped.labels("publish", "unstorable").inc()
                _log.exception("dropped an unstorable fact", extra={"subject": dropped.subject})
                continue
            _log.info("fact store still down", extra={"error": error, "held": len(self.backlog)})
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX_S, delay * 2)

    def _come_up(self) -> None:
        _log.warning("fact store back; backlog stored", extra={"was": self.down_reason})
        self.down_reason = None
        self._misses = 0
        self._down.clear()
        self.metrics.fact_store_down.set(0)
        self._on_up()

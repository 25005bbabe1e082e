"""The executor's facts (fills, funding, order events) from stream EXEC, via a durable consumer.

No fact counts twice and none is lost across a restart: each stored snapshot records the last EXEC
sequence it includes, and a restarted ledger, restored from the newest one, reads EXEC again from
the next sequence (see `bind`). Messages are acked once the snapshot including them is stored.
Fills and funding are also de-duplicated by their venue ids in the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from ledger.core import Ledger, UnknownSymbolError
from ledger.metrics import LedgerMetrics
from ledger.settings import LedgerSettings
from mm_proto import DecodeError, decode, subjects

_log = logging.getLogger("ledger.exec_feed")
_BATCH = 256
_APPLIERS = {
    "exec_fill": Ledger.on_fill,
    "exec_funding": Ledger.on_funding,
    "exec_order": Ledger.on_order,
}


class ExecFeed:
    """Pulls EXEC, applies each fact to the ledger, holds the messages until `ack_applied`."""

    def __init__(
        self,
        js: JetStreamContext,
        settings: LedgerSettings,
        ledger: Ledger,
        metrics: LedgerMetrics,
    ) -> None:
        self._js = js
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics
        self._held: list[Msg] = []
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def bind(self) -> None:
        """(Re)create the durable consumer to start right after the restored snapshot's sequence.

        The consumer's own delivery state is not trusted: a killed ledger leaves messages that
        were delivered but not acked, which the server would redeliver only after `ack_wait`, out
        of order with newer ones. Starting again from the snapshot replays exactly what no stored
        snapshot includes, in order.
        """
        name = self._settings.durable_name
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self._js.delete_consumer(subjects.EXEC_STREAM, name)
        start = self._ledger.exec_sequence + 1
        config = api.ConsumerConfig(
            durable_name=name,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_wait=self._settings.exec_ack_wait_s,
            max_ack_pending=200_000,
        )
        self._subscription = await self._js.pull_subscribe(
            subjects.domain_pattern("exec"),
            durable=name,
            stream=subjects.EXEC_STREAM,
            config=config,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and apply until `stop` is set or the connection closes."""
        while not stop.is_set() and self._subscription is not None:
            try:
                batch = await self._subscription.fetch(_BATCH, timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
                return
            for msg in batch:
                await self._apply(msg)

    async def _apply(self, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        try:
            parsed = subjects.parse(msg.subject)
        except ValueError:
            self._metrics.exec_messages.labels("unknown", "terminated").inc()
            await msg.term()
            return
        family, settings = parsed.family, self._settings
        applier = _APPLIERS.get(family)
        ours = (parsed.venue, parsed.category) == (settings.venue, settings.category)
        if applier is None or not ours or parsed.symbol not in settings.symbols:
            self._metrics.exec_messages.labels(family, "skipped").inc()
            self._ledger.exec_sequence = max(self._ledger.exec_sequence, sequence)
            self._held.append(msg)
            return
        if sequence <= self._ledger.exec_sequence:
            self._metrics.exec_messages.labels(family, "already_booked").inc()
            self._held.append(msg)
            return
        try:
            message = decode(msg.data, parsed.message_type)
        except DecodeError as error:
            self._metrics.exec_messages.labels(family, "terminated").inc()
            _log.warning("undecodable fact", extra={"subject": msg.subject, "error": str(error)})
            await msg.term()
            return
        self._book(family, applier, message)
        self._ledger.exec_sequence = sequence
        self._held.append(msg)

    def _book(self, family: str, applier: object, message: object) -> None:
        try:
            applied = applier(self._ledger, message)  # type: ignore[operator]
        except (UnknownSymbolError, ValueError) as error:
            self._metrics.exec_messages.labels(family, "refused").inc()
            _log.warning("fact refused", extra={"family": family, "error": str(error)})
            return
        outcome = "duplicate" if applied is False else "applied"
        self._metrics.exec_messages.labels(family, outcome).inc()

    def take_held(self) -> list[Msg]:
        """The messages applied so far; take them at the moment the ledger is flushed."""
        held, self._held = self._held, []
        return held

    def hold_again(self, held: list[Msg]) -> None:
        """Put back messages whose snapshot could not be stored; acked with the next one."""
        self._held[:0] = held

    @staticmethod
    async def ack(held: list[Msg]) -> None:
        """Ack messages whose effect is now stored in a snapshot."""
        for msg in held:
            with contextlib.suppress(nats.errors.Error):
                await msg.ack()

    async def close(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

"""Streams MARKS and EXEC through durable consumers, merged in venue time into the core.

Each stream has a pull consumer (durable `<durable_name>` on EXEC, `<durable_name>-marks` on
MARKS) recreated at start at the restored flush's cut (`ledger.resume`), and again wherever a
delivery skips a sequence: the server's delivery state is not trusted, since a killed ledger (or a
fetch reply lost with the connection) leaves delivered-but-unacked messages the server would
redeliver only after `ack_wait`, out of order with newer ones (`mm_runtime.pull_consumer`).
Every delivered message is decoded (`ledger.inputs`), queued in the merge (`ledger.merge`) and
applied once released; messages are acked only after the flush that includes their effect is
stored, so a SIGKILL replays exactly what no stored flush includes. Facts are also de-duplicated
by venue id in the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

import nats.errors
from nats.aio.msg import Msg
from nats.js import api

from ledger.core import Ledger, UnknownSymbolError
from ledger.inputs import Decoded, apply_input, decode_input
from ledger.merge import FACT, MARK, InputMerge
from ledger.metrics import LedgerMetrics
from ledger.resume import Cuts
from ledger.settings import LedgerSettings
from mm_proto import subjects
from mm_runtime.bus import Bus
from mm_runtime.pull_consumer import PullConsumer

_log = logging.getLogger("ledger.input_feed")
_BATCH = 512
# Acks wait for the stored flush; a flush failing for long stops delivery here, never the bus.
_MAX_UNACKED = 1_000_000
_STREAMS = {FACT: subjects.EXEC_STREAM, MARK: subjects.MARKS_STREAM}


class InputFeed:
    """Pulls both streams, applies released inputs to the ledger, holds messages until acked."""

    def __init__(
        self,
        bus: Bus,
        settings: LedgerSettings,
        ledger: Ledger,
        metrics: LedgerMetrics,
        cuts: Cuts,
    ) -> None:
        self._bus = bus
        self._js = bus.client.jetstream()
        self._settings = settings
        self._ledger = ledger
        self._metrics = metrics
        self._symbols = set(settings.symbols)
        self.merge = InputMerge(int(settings.reorder_hold_ms * 1e6), cuts)
        self._held: list[Msg] = []  # delivered messages whose effect is applied (or void)
        self._queued: dict[tuple[int, int], Msg] = {}  # (kind, sequence) -> message in the merge
        self._consumers: dict[int, PullConsumer] = {}
        self.pending: dict[int, int] = {FACT: 0, MARK: 0}  # the consumers' last known backlog

    def durable(self, kind: int) -> str:
        name = self._settings.durable_name
        return name if kind == FACT else f"{name}-marks"

    async def bind(self) -> None:
        """Create both consumers at the restored cut; each binds again at the first sequence not
        delivered whenever a delivery skips one (`mm_runtime.pull_consumer`, `resume_at`)."""
        for kind, stream in _STREAMS.items():
            config = api.ConsumerConfig(
                durable_name=self.durable(kind),
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=self._settings.exec_ack_wait_s,
                max_ack_pending=_MAX_UNACKED,
            )
            pattern = subjects.domain_pattern("exec") if kind == FACT else subjects.mark_pattern()
            resume_at = functools.partial(self.merge.start_sequence, kind)
            consumer = self._bus.pull_consumer(stream, pattern, config, resume_at=resume_at)
            await consumer.bind()
            self._consumers[kind] = consumer

    def inbox(self, kind: int) -> str:
        """Where the server delivers one consumer's messages (tests forge onto it)."""
        return self._consumers[kind].inbox

    async def run(self, kind: int, stop: asyncio.Event) -> None:
        """Fetch one stream and apply what the merge releases, until `stop` or the bus closes.

        The fetch survives timeouts, JetStream off and strays on the inbox
        (`mm_runtime.pull_consumer`); an empty batch after a failed fetch says nothing of the
        backlog, so only one after a timeout counts as caught up.
        """
        while not stop.is_set():
            consumer = self._consumers.get(kind)
            if consumer is None:
                return
            try:
                batch = await consumer.fetch(_BATCH, 0.25)
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionDrainingError):
                return
            if not batch:
                if not consumer.failing:
                    self._caught_up(kind, 0)
                continue
            for msg in batch:
                self._take(kind, msg)
            self._caught_up(kind, batch[-1].metadata.num_pending)
            self.apply_released()

    def _caught_up(self, kind: int, pending: int) -> None:
        self.pending[kind] = pending
        if kind == FACT:
            self.merge.fact_backlog = pending > 0
            self.apply_released()

    def _take(self, kind: int, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        if not self.merge.delivered(kind, sequence):
            self._count("any", "redelivered")
            return  # the first delivery is queued or held; its ack covers this one
        settings = self._settings
        decoded = decode_input(
            msg.subject, msg.data, sequence, settings.venue, settings.category, self._symbols
        )
        if decoded.skipped:
            self._skip(decoded, msg)
            return
        assert decoded.message is not None
        if self.merge.included(decoded.symbol, decoded.key):
            self._count(decoded.family, "already_booked")
            self._held.append(msg)
            return
        if self.merge.add(decoded.symbol, decoded.key, decoded):
            self._queued[(kind, sequence)] = msg
            return
        _log.warning("late input applied", extra={"family": decoded.family, "seq": sequence})
        self._apply(decoded, "late")
        self._held.append(msg)

    def _skip(self, decoded: Decoded, msg: Msg) -> None:
        self._count(decoded.family, decoded.skipped)
        if decoded.skipped == "terminated":
            _log.warning(
                "undecodable input", extra={"subject": msg.subject, "error": decoded.error}
            )
        self._held.append(msg)  # acked with the next stored flush; a replay skips it again

    def apply_released(self) -> None:
        """Apply everything the merge releases now."""
        for _symbol, key, decoded in self.merge.release():
            msg = self._queued.pop((key[1], key[2]), None)
            self._apply(decoded, "applied")
            if msg is not None:
                self._held.append(msg)

    def _apply(self, decoded: Decoded, outcome: str) -> None:
        assert decoded.message is not None
        try:
            applied = apply_input(self._ledger, decoded.message)
        except (UnknownSymbolError, ValueError) as error:
            self._count(decoded.family, "refused")
            _log.warning("input refused", extra={"family": decoded.family, "error": str(error)})
            return
        self._count(decoded.family, outcome if applied else "duplicate")

    def _count(self, family: str, outcome: str) -> None:
        if family != "mark" or outcome != "applied":  # marks applied are counted in bulk
            self._metrics.exec_messages.labels(family, outcome).inc()
        else:
            self._metrics.marks_applied.inc()

    def take_held(self) -> tuple[list[Msg], Cuts]:
        """The messages applied so far and where the merge stands: take both at a flush."""
        held, self._held = self._held, []
        cuts = self.merge.cuts()
        self._ledger.exec_sequence = cuts.exec_cut.restart - 1
        return held, cuts

    def hold_again(self, held: list[Msg]) -> None:
        """Put back messages whose flush could not be stored; acked with the next one."""
        self._held[:0] = held

    @staticmethod
    async def ack(held: list[Msg]) -> None:
        """Ack messages whose effect is now stored in a flush."""
        for msg in held:
            with contextlib.suppress(nats.errors.Error):
                await msg.ack()

    async def close(self) -> None:
        consumers, self._consumers = self._consumers, {}
        for consumer in consumers.values():
            await consumer.close()

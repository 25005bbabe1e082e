"""The executor's facts (fills, positions, order events) from stream EXEC, via a durable consumer.

Exactly-once effect across restarts: facts are applied as they arrive; at most every
`snapshot_interval_s` (sooner when `_ACK_HELD_MAX` facts wait, and on close) the portfolio and the
stream sequence it reflects are written to the KV `risk` bucket (key `portfolio`), and only then
are the facts applied since the last snapshot acked. A restarted risk loads that snapshot and binds
its consumer afresh at the sequence after it, reading the facts in stream order
(`mm_runtime.pull_consumer`, `resume_at`): the server would hand out the facts a killed risk had
been delivered only after `ack_wait`, behind newer ones, and applied out of order a fill and its
position snapshot disagree while the fill, skipped by sequence, would be lost. A delivery that
skips a sequence in one life (a fetch reply lost with the connection) re-binds the same way, and
any redelivery at or below the applied sequence is skipped, so nothing is lost and nothing counts
twice. Coalescing the snapshot keeps the bucket's writes at about one a second
instead of one per fetched batch (each write is a whole portfolio, kept in KV history and in the
server's block cache); what a SIGKILL loses is at most that second of applied facts, which come
again unacked.

Stream EXEC holds the executor's facts. Like every service, risk ensures the agreed JetStream
layout at start (`mm_runtime.jetstream.ensure_layout`, which creates EXEC when it is missing), so
the stream exists before its consumer binds, whichever service started first.

Risk must never go blind here: the reader (`mm_runtime.pull_consumer`) survives timeouts,
JetStream being off, errors from the server and messages on its inbox that are not from the stream
(counted as `risk_exec_messages_total{kind="not_jetstream"}` and dropped); failed fetches are
counted in `risk_exec_fetch_failures_total{reason}`. Separately, `watch_lag` asks the
server every second how many messages the consumer still owes (`risk_exec_pending`) and keeps
`current_ns`, when the consumer was last caught up or moving; risk's clock exports its age as
`risk_exec_lag_seconds` and halts on it (`exec_lag_halt_after_ms`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from mm_proto import DecodeError, decode, subjects
from mm_runtime.bus import Bus
from risk.metrics import RiskMetrics
from risk.settings import RiskSettings

_log = logging.getLogger("risk.exec_feed")
PORTFOLIO_KEY = "portfolio"  # key in the KV risk bucket: risk's own restart snapshot
_BATCH = 64
_FETCH_TIMEOUT_S = 0.5
# Facts applied but not yet in a stored snapshot (so not acked) that force a snapshot at once:
# well under the consumer's max_ack_pending, which would otherwise stop deliveries.
_ACK_HELD_MAX = 500
_LAG_TIMEOUT_S = 1.0

# Called with (family, decoded message); returns nothing. Raising is a bug, logged and skipped.
FactHandler = Callable[[str, Any], Awaitable[None]]
Snapshot = Callable[[], dict[str, Any]]


async def exec_stream_state(js: JetStreamContext) -> tuple[str, int]:
    """Stream EXEC's identity (its creation time: a snapshot of another stream is not reused) and
    its last sequence (a snapshot past it is not reused either)."""
    info = await js.stream_info(subjects.EXEC_STREAM)
    identity = info.created.isoformat() if info.created else ""
    return identity, int(info.state.last_seq or 0)


async def load_snapshot(
    bucket: KeyValue, stream_identity: str, last_sequence: int
) -> dict[str, Any]:
    """The stored snapshot for this incarnation of EXEC, or an empty one (sequence 0).

    A snapshot taken against an earlier EXEC (deleted and recreated, so its sequences start again)
    would make risk skip new facts, so it is discarded with a warning; so is one claiming a
    sequence the stream has not reached (a damaged or forged value), which would have risk wait
    for facts past every one the executor will publish for a long time: blind, not halted.
    """
    empty: dict[str, Any] = {"sequence": 0, "portfolio": {}}
    try:
        entry = await bucket.get(PORTFOLIO_KEY)
    except nats.js.errors.KeyNotFoundError:
        return empty
    loaded = json.loads(entry.value or b"{}")
    if not isinstance(loaded, dict) or not isinstance(loaded.get("sequence"), int):
        raise ValueError(f"KV risk/{PORTFOLIO_KEY} must hold a snapshot object, was {loaded!r}")
    if loaded.get("stream") != stream_identity:
        _log.warning(
            "portfolio snapshot is for another EXEC stream, starting from the stream's start",
            extra={"snapshot_stream": loaded.get("stream"), "stream": stream_identity},
        )
        return empty
    if loaded["sequence"] > last_sequence:
        _log.error(
            "portfolio snapshot is past the EXEC stream's end, starting from the stream's start",
            extra={"snapshot_sequence": loaded["sequence"], "last_sequence": last_sequence},
        )
        return empty
    return loaded


class ExecFeed:
    """Pulls EXEC facts for this instance's venue and category, applies them, persists, acks."""

    def __init__(
        self,
        bus: Bus,
        bucket: KeyValue,
        settings: RiskSettings,
        metrics: RiskMetrics,
        handle: FactHandler,
        snapshot: Snapshot,
        applied_sequence: int,
        stream_identity: str,
    ) -> None:
        self._bucket = bucket
        self._settings = settings
        self._metrics = metrics
        self._counted = metrics.exec_messages.labels  # per fact: the children are cached
        self._handle = handle
        self._snapshot = snapshot
        self.applied_sequence = applied_sequence
        self._stream_identity = stream_identity
        self._consumer = bus.pull_consumer(
            subjects.EXEC_STREAM,
            "exec.>",
            api.ConsumerConfig(
                durable_name=settings.durable_name,
                ack_policy=api.AckPolicy.EXPLICIT,
                deliver_policy=api.DeliverPolicy.ALL,
                ack_wait=settings.exec_ack_wait_s,
                max_ack_pending=1_000,
            ),
            on_failure=self._fetch_failed,
            on_stray=self._stray,
            resume_at=self._resume_at,
        )
        self._held: list[Msg] = []  # applied, waiting for the next stored snapshot to be acked
        self._stored_at = time.monotonic()
        self.last_sequence = applied_sequence  # the highest stream sequence looked at
        self._sequence_at_last_look = applied_sequence
        self.pending = 0  # messages the consumer has not yet had acked, at the last look
        self.current_ns = time.time_ns()  # when the consumer was last known caught up or moving

    async def bind(self) -> None:
        await self._consumer.bind()

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch, apply, persist and ack until `stop` is set.

        Nothing the bus can throw at a fetch ends this loop (`mm_runtime.pull_consumer`); what
        still escapes (a closed connection, a bug) ends the task, which the service's supervisor
        logs and restarts (re-binding here).
        """
        while not stop.is_set():
            batch = await self._consumer.fetch(_BATCH, _FETCH_TIMEOUT_S)
            if batch:
                await self._apply(batch)
            due = time.monotonic() - self._stored_at >= self._settings.snapshot_interval_s
            if self._held and (due or len(self._held) >= _ACK_HELD_MAX):
                await self.store_and_ack()

    def _resume_at(self) -> int:
        """Where the consumer binds: the first fact no stored or applied state includes."""
        return self.applied_sequence + 1

    def _fetch_failed(self, reason: str, _error: Exception) -> None:
        self._metrics.exec_fetch_failures.labels(reason).inc()

    def _stray(self) -> None:
        self._counted("not_jetstream", "dropped").inc()

    async def watch_lag(self, interval_s: float) -> None:
        """Every `interval_s`, ask the server how far behind the consumer is (see `current_ns`)."""
        while True:
            await self.observe_lag()
            await asyncio.sleep(interval_s)

    async def observe_lag(self) -> None:
        """Update `pending` and `current_ns` from the consumer's info; a failed look counts as no
        progress (risk cannot tell whether it is behind, so the lag keeps growing)."""
        now = time.time_ns()
        pending = await self._consumer.pending(_LAG_TIMEOUT_S)
        if pending is not None:
            self.pending = pending
            self._metrics.exec_pending.set(self.pending)
            if self.pending == 0 or self.last_sequence > self._sequence_at_last_look:
                self.current_ns = now
            self._sequence_at_last_look = self.last_sequence

    @property
    def inbox(self) -> str:
        """The subject the server delivers this consumer's messages on (tests forge onto it)."""
        return self._consumer.inbox

    async def close(self) -> None:
        """Store the last snapshot and ack what it covers, then drop the pull subscription, so
        that late pull replies cannot stall the bus's drain."""
        if self._held:
            await self.store_and_ack()
        await self._consumer.close()

    async def store_and_ack(self) -> None:
        """Store the snapshot, then ack every fact it covers. A failed store acks nothing: those
        facts come again after ack_wait, are skipped by sequence, and are acked by a later store."""
        if not await self._persist():
            return
        self._stored_at = time.monotonic()
        held, self._held = self._held, []
        for msg in held:
            await msg.ack()

    async def _apply(self, batch: list[Msg]) -> None:
        for msg in batch:
            if await self._apply_one(msg):
                self._held.append(msg)

    async def _apply_one(self, msg: Msg) -> bool:
        sequence = msg.metadata.sequence.stream  # strays are dropped by the consumer already
        self.last_sequence = max(self.last_sequence, sequence)
        if sequence <= self.applied_sequence:
            self._counted("any", "redelivered").inc()
            return True
        try:
            parsed = subjects.parse(msg.subject)
        except ValueError:
            self._counted("unknown", "terminated").inc()
            self.applied_sequence = sequence
            await msg.term()
            return False
        family = parsed.family
        settings = self._settings
        ours = (parsed.venue, parsed.category) == (settings.venue, settings.category)
        if not ours or parsed.symbol not in settings.all_symbols:
            self._counted(family, "skipped").inc()
            self.applied_sequence = sequence
            return True
        try:
            message = decode(msg.data, parsed.message_type)
        except DecodeError as error:
            self._counted(family, "terminated").inc()
            _log.warning(
                "undecodable executor fact", extra={"subject": msg.subject, "error": str(error)}
            )
            self.applied_sequence = sequence
            await msg.term()
            return False
        try:
            await self._handle(family, message)
        except Exception:
            _log.exception("executor fact handler failed", extra={"subject": msg.subject})
        self.applied_sequence = sequence
        self._counted(family, "applied").inc()
        return True

    async def _persist(self) -> bool:
        payload = {
            "stream": self._stream_identity,
            "sequence": self.applied_sequence,
            **self._snapshot(),
        }
        try:
            await self._bucket.put(PORTFOLIO_KEY, json.dumps(payload).encode())
        except Exception as error:
            self._metrics.kv_failures.labels(PORTFOLIO_KEY).inc()
            _log.error("portfolio snapshot not stored", extra={"error": str(error)})
            return False
        return True

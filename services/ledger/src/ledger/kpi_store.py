"""Stream KPI: storing the ledger's snapshots and reading them back (restart, `mm report`).

Each snapshot is published with `Nats-Msg-Id` `kpi:<symbol>:<side>:<color>:<ts_end_ns>`, so a
flush retried after a failure is stored once. A restarted ledger resumes from the `all` rows of
the newest flush, found by reading the stream backwards from its end.

A flush is stored whole or not at all: its rows go out as one JetStream atomic batch (stream KPI
with `allow_atomic`, nats-server 2.12 or later), which the server makes visible only at its
commit. Stored row by row, a ledger killed between two rows left a flush with one symbol's rows
and not another's; the restart then resumed from that flush and opened the missing symbol's
books empty (its position, its totals and its fills' markouts gone). A retried batch whose rows
were stored already (the commit's ack was lost) is refused by the server as a duplicate, which
means stored. A flush of more rows than one batch may hold (1,000: over 333 symbol-colors) is
stored in parts, with a warning. On a server without atomic batches (older than 2.12, or a KPI
stream that cannot be changed) the writer says so at start and stores row by row as before.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import uuid
from collections.abc import Iterator

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mm_proto import DecodeError, KpiSnapshot, decode, encode, subjects
from mm_runtime.jetstream import publish_fact
from mm_runtime.telemetry import inject_headers

_log = logging.getLogger("ledger.kpi")
BATCH_LIMIT = 1000  # the most messages nats-server takes in one atomic batch
_ALREADY_STORED = 10201  # "atomic publish batch contains duplicate message id"


class KpiStoreError(Exception):
    """The server refused a flush's batch (nothing of it is stored)."""


def message_id(snapshot: KpiSnapshot) -> str:
    return f"kpi:{snapshot.symbol}:{snapshot.side}:{snapshot.color}:{snapshot.ts_end_ns}"


class KpiWriter:
    """Stores flushes in stream KPI, each whole or not at all (see the module's docstring)."""

    def __init__(self, client: Client, *, atomic: bool, timeout_s: float = 2.0) -> None:
        self._client = client
        self._js = client.jetstream()
        self.atomic = atomic
        self._timeout_s = timeout_s

    @classmethod
    async def open(cls, client: Client, timeout_s: float = 2.0) -> KpiWriter:
        """A writer for the stream as it is: atomic batches are switched on for a stream created
        before they were used (the ledger owns stream KPI); row by row when the server has none."""
        js = client.jetstream()
        config = (await js.stream_info(subjects.KPI_STREAM)).config
        if not config.allow_atomic:
            try:
                updated = await js.update_stream(dataclasses.replace(config, allow_atomic=True))
                config = updated.config
            except nats.errors.Error as error:
                _log.warning("could not switch on atomic batches", extra={"error": str(error)})
            else:
                _log.info("switched on atomic batches", extra={"stream": subjects.KPI_STREAM})
        atomic = bool(config.allow_atomic)
        if not atomic:
            _log.warning(
                "stream KPI takes no atomic batches (nats-server 2.12 or later has them): a "
                "ledger killed while storing a flush can leave part of it",
                extra={"stream": subjects.KPI_STREAM},
            )
        return cls(client, atomic=atomic, timeout_s=timeout_s)

    async def store(self, snapshots: list[KpiSnapshot]) -> None:
        """Store the rows of one or more flushes, in order; raises when one is not stored."""
        if not self.atomic:
            for snapshot in snapshots:
                await publish_fact(self._js, _subject(snapshot), snapshot, message_id(snapshot))
            return
        for rows in _batches(snapshots):
            await self._store_batch(rows)

    async def _store_batch(self, rows: list[KpiSnapshot]) -> None:
        batch_id = uuid.uuid4().hex
        for number, row in enumerate(rows, start=1):
            headers = inject_headers(
                {
                    "Nats-Msg-Id": message_id(row),
                    "Nats-Batch-Id": batch_id,
                    "Nats-Batch-Sequence": str(number),
                }
            )
            subject, data = _subject(row), encode(row)
            commit = number == len(rows)
            if commit:
                headers["Nats-Batch-Commit"] = "1"
            if commit or number == 1:  # the first is asked too: a refused batch fails there
                reply = await self._client.request(
                    subject, data, headers=headers, timeout=self._timeout_s
                )
                # The commit always answers; the first row only to refuse (or know) the batch.
                if (commit or reply.data) and _stored(reply.data, batch_id, len(rows)):
                    return
            else:
                await self._client.publish(subject, data, headers=headers)


def _subject(snapshot: KpiSnapshot) -> str:
    return subjects.kpi(snapshot.venue, snapshot.category, snapshot.symbol)


def _batches(snapshots: list[KpiSnapshot]) -> Iterator[list[KpiSnapshot]]:
    """One batch per flush (rows sharing their window's end), split where over the limit."""
    for ts_end, flush in itertools.groupby(snapshots, key=lambda row: row.ts_end_ns):
        rows = list(flush)
        if len(rows) > BATCH_LIMIT:
            _log.warning(
                "a flush of more rows than one atomic batch holds is stored in parts",
                extra={"rows": len(rows), "limit": BATCH_LIMIT, "ts_end_ns": ts_end},
            )
        for start in range(0, len(rows), BATCH_LIMIT):
            yield rows[start : start + BATCH_LIMIT]


def _stored(data: bytes, batch_id: str, count: int) -> bool:
    """True when the server's answer says the batch is stored (now or before); raises when
    it is refused or the answer is not one to this batch."""
    try:
        answer = json.loads(data)
    except ValueError as unreadable:
        message = f"unreadable answer to batch {batch_id}: {data[:200]!r}"
        raise KpiStoreError(message) from unreadable
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        if error.get("err_code") == _ALREADY_STORED:
            _log.info("flush stored already (its ack was lost)", extra={"rows": count})
            return True
        raise KpiStoreError(f"batch refused: {error.get('description', error)}")
    if not isinstance(answer, dict) or answer.get("batch") != batch_id:
        raise KpiStoreError(f"batch {batch_id} not committed: {answer!r}")
    if answer.get("count") != count:
        raise KpiStoreError(f"batch {batch_id} stored {answer.get('count')} of {count} rows")
    return True


async def read_range(
    jetstream: JetStreamContext, first: int, last: int
) -> list[tuple[int, KpiSnapshot]]:
    """The decodable snapshots stored at sequences first..last, with their sequence."""
    found = []
    for sequence in range(max(first, 1), last + 1):
        try:
            raw = await jetstream.get_msg(subjects.KPI_STREAM, sequence)
        except NotFoundError:
            continue
        try:
            found.append((sequence, decode(raw.data or b"", KpiSnapshot)))
        except DecodeError as error:
            _log.warning("undecodable KPI snapshot", extra={"seq": sequence, "error": str(error)})
    return found


async def latest_flush(
    jetstream: JetStreamContext, venue: str, category: str, scan_limit: int
) -> list[KpiSnapshot]:
    """The `all` rows of the newest flush for this venue and category (empty when none)."""
    try:
        info = await jetstream.stream_info(subjects.KPI_STREAM)
    except NotFoundError:
        return []
    state = info.state
    newest_end = 0
    rows: list[KpiSnapshot] = []
    sequence = state.last_seq
    while sequence >= max(state.first_seq, 1) and state.last_seq - sequence < scan_limit:
        for _, snapshot in await read_range(jetstream, sequence, sequence):
            if (snapshot.venue, snapshot.category) != (venue, category):
                continue
            if newest_end and snapshot.ts_end_ns < newest_end:
                return rows
            newest_end = snapshot.ts_end_ns
            if snapshot.side == "all":
                rows.append(snapshot)
        sequence -= 1
    return rows

"""Stream KPI: storing the ledger's snapshots and reading them back (restart, `mm report`).

Each snapshot is published with `Nats-Msg-Id` `kpi:<symbol>:<side>:<color>:<ts_end_ns>`, so a
flush retried after a failure is stored once. A restarted ledger resumes from the `all` rows of
the newest flush, found by reading the stream backwards from its end.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mm_proto import DecodeError, KpiSnapshot, decode, subjects
from mm_runtime.jetstream import publish_fact

_log = logging.getLogger("ledger.kpi")


def message_id(snapshot: KpiSnapshot) -> str:
    return f"kpi:{snapshot.symbol}:{snapshot.side}:{snapshot.color}:{snapshot.ts_end_ns}"


async def store(jetstream: JetStreamContext, snapshots: list[KpiSnapshot]) -> None:
    """Publish every snapshot of one flush and wait for each ack; raises if one is not stored."""
    for snapshot in snapshots:
        subject = subjects.kpi(snapshot.venue, snapshot.category, snapshot.symbol)
        await publish_fact(jetstream, subject, snapshot, message_id(snapshot))


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

"""The weekly file: once a week is over, its rollup (`ledger.weekly`) written from stream KPI.

`write_due` looks at the last completed ISO week (Monday 00:00 UTC to Monday): when
`<dir>/weekly-<YYYY>-W<ww>.json` is missing and stream KPI holds snapshots of that week, it
reads them back (an ordered consumer from the week's start) and writes the file atomically
(a temporary file renamed into place). Reading the stream rather than keeping a week in memory
makes the file whole across restarts; a ledger down at the boundary writes it when it is back.
A week without snapshots gets no file. The service calls it at start and every `CHECK_EVERY_S`.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from ledger.weekly import WEEK_NS, file_name, rollup, week_start
from mm_proto import DecodeError, KpiSnapshot, decode, subjects

_log = logging.getLogger("ledger.weekly")
CHECK_EVERY_S = 3600.0
_IDLE_S = 2.0


async def read_week(jetstream: JetStreamContext, from_ns: int) -> list[KpiSnapshot]:
    """Every snapshot stored since an hour before `from_ns` (filtered by its own times later)."""
    try:
        info = await jetstream.stream_info(subjects.KPI_STREAM)
    except NotFoundError:
        return []
    if info.state.messages == 0:
        return []
    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.BY_START_TIME,
        opt_start_time=datetime.fromtimestamp(from_ns / 1e9 - 3600, UTC),
    )
    subscription = await jetstream.subscribe(
        subjects.kpi_pattern(), ordered_consumer=True, config=config
    )
    found: list[KpiSnapshot] = []
    try:
        while True:
            try:
                msg = await subscription.next_msg(timeout=_IDLE_S)
            except TimeoutError:
                break
            try:
                found.append(decode(msg.data, KpiSnapshot))
            except DecodeError:
                _log.warning("undecodable KPI snapshot skipped in the weekly file")
            if msg.metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return found


def write_atomically(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(scratch, path)


async def write_due(jetstream: JetStreamContext, directory: Path, now_ns: int) -> Path | None:
    """Write the last completed week's file if it is missing; the path written, else None."""
    start = week_start(now_ns) - WEEK_NS
    path = directory / file_name(start)
    if path.exists():
        return None
    snapshots = await read_week(jetstream, start)
    inside = [s for s in snapshots if start <= s.ts_start_ns < start + WEEK_NS]
    if not inside:
        _log.info("no KPI snapshots in the last week; no weekly file", extra={"file": path.name})
        return None
    write_atomically(path, rollup(inside, start, start + WEEK_NS))
    _log.info("weekly file written", extra={"file": str(path), "snapshots": len(inside)})
    return path

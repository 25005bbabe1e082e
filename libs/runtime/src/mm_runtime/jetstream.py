"""The bus's durable layout (JetStream streams and KV buckets) and publishing facts into it.

Every service calls `ensure_layout` at start; it creates what is missing with one agreed
configuration and leaves existing streams alone, so the order in which services start does not
matter. `replicas` is how many servers of a JetStream cluster keep each stream and bucket (1 on a
single server, the local default; 3 on a three-node cluster, which then survives losing any one
node); a stream that exists with another count is left as it is and the difference is logged,
since changing it is an operator's decision (`nats stream edit --replicas`).
Facts that must not be lost (orders, fills, positions, risk events, KPI snapshots) are published
with `publish_fact`, which waits for the server's ack and sets `Nats-Msg-Id` so that a
retried publish (for example after a restart replays the venue's executions) is stored once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time

import msgspec
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    NotFoundError,
    ServiceUnavailableError,
)
from nats.js.kv import KeyValue

from mm_proto import FeeSchedule, InstrumentDefinition, subjects
from mm_proto.codec import encode
from mm_runtime.telemetry import inject_headers

_log = logging.getLogger("mm_runtime.jetstream")

DUPLICATE_WINDOW_S = 24 * 3600.0
STREAM_MAX_AGE_S = 30 * 24 * 3600.0
STREAM_MAX_BYTES = 4 * 1024**3  # a bound on disk (and on the server's index memory) per stream
KPI_MAX_AGE_S = 90 * 24 * 3600.0  # KPI snapshots are small; a report may look back a quarter
KPI_MAX_BYTES = 1024**3
# Marks: what a restarted ledger replays its mids from; an hour bounds how long it may be down.
MARKS_MAX_AGE_S = 3600.0
MARKS_MAX_BYTES = 2 * 1024**3


def _stream(
    name: str,
    stream_subjects: tuple[str, ...],
    max_age_s: float,
    max_bytes: int,
    duplicate_window_s: float = DUPLICATE_WINDOW_S,
    *,
    allow_atomic: bool | None = None,
) -> StreamConfig:
    """A limits-retention file stream that drops its oldest facts once past its age or size."""
    return StreamConfig(
        allow_atomic=allow_atomic,
        name=name,
        subjects=list(stream_subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age_s,
        max_bytes=max_bytes,
        duplicate_window=duplicate_window_s,
    )


STREAMS = (
    _stream(
        subjects.EXEC_STREAM, subjects.EXEC_STREAM_SUBJECTS, STREAM_MAX_AGE_S, STREAM_MAX_BYTES
    ),
    _stream(
        subjects.RISK_STREAM, subjects.RISK_STREAM_SUBJECTS, STREAM_MAX_AGE_S, STREAM_MAX_BYTES
    ),
    # The ledger's per-minute snapshots, read by `mm report`; a flush is one atomic batch
    # (`ledger.kpi_store`).
    _stream(
        subjects.KPI_STREAM,
        subjects.KPI_STREAM_SUBJECTS,
        KPI_MAX_AGE_S,
        KPI_MAX_BYTES,
        allow_atomic=True,
    ),
    # The policy's decisions: what it resumes from after a restart, and its audit trail.
    _stream(subjects.POLICY_STREAM, subjects.POLICY_STREAM_SUBJECTS, KPI_MAX_AGE_S, KPI_MAX_BYTES),
    # md.mark.*: the ledger's mids, replayed after a restart.
    _stream(
        subjects.MARKS_STREAM,
        subjects.MARKS_STREAM_SUBJECTS,
        MARKS_MAX_AGE_S,
        MARKS_MAX_BYTES,
        duplicate_window_s=0,  # 0: the server's default window
    ),
    # The quoter's obligation snapshots per minute, kept as long as the KPIs they are judged with.
    _stream(subjects.QUOTER_STREAM, subjects.QUOTER_STREAM_SUBJECTS, KPI_MAX_AGE_S, KPI_MAX_BYTES),
    # Every transition of a canary rollout, kept as long as the KPIs it was judged on.
    _stream(
        subjects.ROLLOUT_STREAM, subjects.ROLLOUT_STREAM_SUBJECTS, KPI_MAX_AGE_S, KPI_MAX_BYTES
    ),
)
BUCKETS = (
    KeyValueConfig(bucket=subjects.CONFIG_BUCKET, history=16, storage=StorageType.FILE),
    KeyValueConfig(bucket=subjects.RISK_BUCKET, history=16, storage=StorageType.FILE),
    KeyValueConfig(bucket=subjects.INSTRUMENT_BUCKET, history=4, storage=StorageType.FILE),
    KeyValueConfig(bucket=subjects.FEE_BUCKET, history=4, storage=StorageType.FILE),
    KeyValueConfig(bucket=subjects.ROLLOUT_BUCKET, history=16, storage=StorageType.FILE),
    # Symbol leases of replicated writers; a short history is enough to see a takeover.
    KeyValueConfig(bucket=subjects.LEASE_BUCKET, history=4, storage=StorageType.FILE),
)


MAX_REPLICAS = 5  # JetStream's own limit


def _replicated(config: StreamConfig, replicas: int) -> StreamConfig:
    return dataclasses.replace(config, num_replicas=replicas)


def _check_replicas(replicas: int) -> None:
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"replicas must be 1..{MAX_REPLICAS}, was {replicas}")


# How long a start waits for JetStream to answer at all: a cluster electing its meta leader, or
# creating the streams several services asked for at once, times requests out for a few seconds.
LAYOUT_WAIT_S = 60.0
_NOT_YET = (NatsTimeoutError, NoRespondersError, ServiceUnavailableError)


class LayoutUnavailableError(RuntimeError):
    """JetStream did not answer the layout's requests within the wait."""


async def ensure_layout(
    jetstream: JetStreamContext, replicas: int = 1, wait_s: float = LAYOUT_WAIT_S
) -> None:
    """Create the streams and buckets that do not exist yet, each kept by `replicas` servers;
    never change existing ones. While JetStream does not answer (timeouts, no responders, 503)
    the whole step is retried, which is safe since it only creates what is missing; after
    `wait_s` it gives up with `LayoutUnavailableError`."""
    _check_replicas(replicas)
    deadline = time.monotonic() + wait_s
    for attempt in itertools.count():
        try:
            await _ensure_layout(jetstream, replicas)
            return
        except _NOT_YET as error:
            if time.monotonic() >= deadline:
                message = f"JetStream did not answer within {wait_s:g} s: {error!r}"
                raise LayoutUnavailableError(message) from error
            if attempt == 0:
                extra = {"error": repr(error), "wait_s": wait_s}
                _log.warning("JetStream not answering yet; retrying", extra=extra)
            await asyncio.sleep(0.5)


async def _ensure_layout(jetstream: JetStreamContext, replicas: int) -> None:
    for stream in STREAMS:
        assert stream.name is not None
        try:
            info = await jetstream.stream_info(stream.name)
        except NotFoundError:
            try:
                await jetstream.add_stream(_replicated(stream, replicas))
                _log.info("created stream", extra={"stream": stream.name, "replicas": replicas})
            except BadRequestError:
                # Another service created it between our lookup and our create.
                await jetstream.stream_info(stream.name)
        else:
            _note_replicas(stream.name, info.config.num_replicas, replicas)
    for bucket in BUCKETS:
        await key_value(jetstream, bucket.bucket, replicas)


def _note_replicas(stream: str, existing: int | None, wanted: int) -> None:
    if (existing or 1) != wanted:
        _log.warning(
            "stream kept by another number of servers than configured; left as it is",
            extra={"stream": stream, "replicas": existing or 1, "configured": wanted},
        )


async def key_value(jetstream: JetStreamContext, bucket: str, replicas: int = 1) -> KeyValue:
    """The named KV bucket, created with the agreed configuration (kept by `replicas` servers)
    when it does not exist."""
    try:
        return await jetstream.key_value(bucket)
    except BucketNotFoundError:
        _check_replicas(replicas)
        config = next(item for item in BUCKETS if item.bucket == bucket)
        return await jetstream.create_key_value(dataclasses.replace(config, replicas=replicas))


async def store_instrument(jetstream: JetStreamContext, instrument: InstrumentDefinition) -> None:
    """Record the latest definition of a symbol for services that start later."""
    bucket = await key_value(jetstream, subjects.INSTRUMENT_BUCKET)
    key = subjects.instrument_key(instrument.venue, instrument.category, instrument.symbol)
    await bucket.put(key, encode(instrument))


async def store_fee_schedule(jetstream: JetStreamContext, fees: FeeSchedule) -> None:
    """Record the account's fee rates for a symbol as the venue reported them."""
    bucket = await key_value(jetstream, subjects.FEE_BUCKET)
    await bucket.put(subjects.instrument_key(fees.venue, fees.category, fees.symbol), encode(fees))


async def publish_fact(
    jetstream: JetStreamContext,
    subject: str,
    message: msgspec.Struct,
    message_id: str,
    timeout_s: float = 2.0,
) -> bool:
    """Publish to JetStream with de-duplication; returns False when the server saw it already."""
    headers = inject_headers({"Nats-Msg-Id": message_id})
    ack = await jetstream.publish(subject, encode(message), headers=headers, timeout=timeout_s)
    return not ack.duplicate

"""The JetStream stores risk depends on: opening KV buckets and streams, and reading the halt."""

from __future__ import annotations

import logging
import time

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from mm_proto import DecodeError, HaltState, decode, subjects
from risk.engine import HaltStatus

_log = logging.getLogger("risk.stores")


async def open_bucket(js: JetStreamContext, name: str) -> KeyValue:
    """The KV bucket `name`, created when missing (whichever service starts first creates it)."""
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        pass
    try:
        return await js.create_key_value(bucket=name, history=5)
    except Exception:
        # Another service may have created it meanwhile, with its own settings.
        return await js.key_value(name)


async def ensure_stream(js: JetStreamContext, name: str, stream_subjects: tuple[str, ...]) -> None:
    """Create stream `name` over `stream_subjects` unless it exists (risk owns stream RISK)."""
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(name=name, subjects=list(stream_subjects))


async def load_halt(bucket: KeyValue) -> HaltStatus:
    """The stored halt state; an unreadable one counts as halted (the safe side)."""
    try:
        entry = await bucket.get(subjects.HALT_KEY)
    except KeyNotFoundError:
        return HaltStatus()
    try:
        state = decode(entry.value or b"", HaltState)
    except DecodeError as error:
        _log.error("stored halt state unreadable, starting halted", extra={"error": str(error)})
        return HaltStatus(True, f"stored halt state unreadable: {error}", "risk", time.time_ns())
    return HaltStatus(state.halted, state.reason, state.by, state.ts_changed_ns)

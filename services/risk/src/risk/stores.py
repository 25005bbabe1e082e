"""Reading the kill switch's stored halt state; the buckets are mm_runtime.jetstream's."""

from __future__ import annotations

import logging
import time

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from mm_proto import DecodeError, HaltState, decode, subjects
from risk.engine import HaltStatus

_log = logging.getLogger("risk.stores")


async def load_halt(bucket: KeyValue) -> HaltStatus | None:
    """The stored halt state, None when none is stored yet (a first start); an unreadable one
    counts as halted (the safe side)."""
    try:
        entry = await bucket.get(subjects.HALT_KEY)
    except KeyNotFoundError:
        return None
    try:
        state = decode(entry.value or b"", HaltState)
    except DecodeError as error:
        _log.error("stored halt state unreadable, starting halted", extra={"error": str(error)})
        return HaltStatus(True, f"stored halt state unreadable: {error}", "risk", time.time_ns())
    return HaltStatus(
        state.halted, state.reason, state.by, state.ts_changed_ns, state.halted and state.transient
    )

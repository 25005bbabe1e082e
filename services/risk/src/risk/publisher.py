"""How risk's decisions reach the bus: order targets, risk events, heartbeats, and the halt in KV.

Targets ride core NATS (latest wins). Risk events are published on `risk.event.*`, which stream
RISK captures, each with a `Nats-Msg-Id` so a retry never stores one twice; they go out without
waiting for the stream's ack so a slow store never delays a target. A limit check's reduce or
block that repeats (same symbol, check and limit) within `event_repeat_s` is counted but not sent
again, so intents that keep hitting one limit do not flood the stream. The halt state is the one
fact risk must not lose, so its KV write is awaited and retried by the caller until it succeeds.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import time
import uuid
from decimal import Decimal

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from mm_proto import HaltState, Heartbeat, OrderTarget, RiskEvent, encode, subjects
from mm_runtime.bus import Bus
from risk.engine import HaltStatus, Target
from risk.limits import RiskLimits
from risk.metrics import RiskMetrics
from risk.settings import RiskSettings

_log = logging.getLogger("risk.publisher")
SERVICE = "risk"


def halt_state(status: HaltStatus) -> HaltState:
    return HaltState(
        halted=status.halted,
        reason=status.reason,
        by=status.by,
        ts_changed_ns=status.ts_changed_ns,
        transient=status.transient,
    )


class Publisher:
    """Risk's outgoing messages, with the counters that go with them."""

    def __init__(self, bus: Bus, settings: RiskSettings, metrics: RiskMetrics) -> None:
        self._bus = bus
        self._settings = settings
        self._metrics = metrics
        self._targets = metrics.targets.labels  # per target: the children are cached
        self._last_event: dict[tuple[str, str, str, str], float] = {}
        # Target ids: a random 64-bit prefix per process, then a counter (unique across restarts
        # like uuid4, without its cost per target).
        self._id_prefix = f"{secrets.randbits(64):016x}-"
        self._target_ids = itertools.count(1)
        self._target_subjects: dict[str, str] = {}

    async def target(self, target: Target, ts_tick_ns: int = 0) -> None:
        """Publish a target; `ts_tick_ns` is the intent's tick time (0 for rechecks and halts)."""
        settings = self._settings
        message = OrderTarget(
            venue=settings.venue,
            category=settings.category,
            symbol=target.symbol,
            bids=list(target.ladder.bids),
            asks=list(target.ladder.asks),
            target_id=f"{self._id_prefix}{next(self._target_ids):x}",
            intent_id=target.intent_id,
            cancel_all=target.cancel_all,
            ts_target_ns=time.time_ns(),
            ts_tick_ns=ts_tick_ns,
            reduce_only=target.reduce_only,
            time_in_force=target.time_in_force,
            color=target.color,
        )
        kind = "cancel_all" if target.cancel_all else "pull" if target.ladder.is_empty else "quote"
        kind = "flatten" if target.reduce_only else kind
        subject = self._target_subjects.get(target.symbol)
        if subject is None:
            subject = subjects.order_target(settings.venue, settings.category, target.symbol)
            self._target_subjects[target.symbol] = subject
        await self._bus.publish(subject, message)
        self._targets(kind).inc()

    async def event(
        self,
        symbol: str,
        check: str,
        outcome: str,
        observed: Decimal,
        limit: Decimal,
        detail: str,
    ) -> None:
        settings = self._settings
        if self._repeats(symbol, check, outcome, limit):
            self._metrics.events_suppressed.labels(check).inc()
            return
        message = RiskEvent(
            venue=settings.venue,
            category=settings.category,
            symbol=symbol,
            check=check,
            outcome=outcome,
            limit=str(limit),
            observed=str(observed),
            detail=detail,
            ts_event_ns=time.time_ns(),
        )
        subject = subjects.risk_event(settings.venue, settings.category, symbol)
        await self._bus.publish(subject, message, headers={"Nats-Msg-Id": uuid.uuid4().hex})

    def _repeats(self, symbol: str, check: str, outcome: str, limit: Decimal) -> bool:
        """True for a reduce or block that repeats one sent less than `event_repeat_s` ago."""
        if outcome not in ("reduce", "block") or check == "config":
            return False
        key = (symbol, check, outcome, str(limit))
        now = time.monotonic()
        last = self._last_event.get(key)
        if last is not None and now - last < self._settings.event_repeat_s:
            return True
        self._last_event[key] = now
        return False

    async def heartbeat(self) -> None:
        message = Heartbeat(
            service=SERVICE, instance_id=self._settings.instance_id, ts_sent_ns=time.time_ns()
        )
        await self._bus.publish(subjects.heartbeat(SERVICE), message)

    async def store_limits(self, bucket: KeyValue, limits: RiskLimits, symbols: list[str]) -> bool:
        """Write the per-symbol sizes in force (`subjects.RISK_LIMITS_KEY`), for the quoter's
        ceilings; False (counted and logged) when the write failed."""
        sizes = {
            symbol: {
                "max_position_lots": limits.for_symbol(symbol).max_position_lots,
                "max_order_lots": limits.for_symbol(symbol).max_order_lots,
            }
            for symbol in symbols
        }
        try:
            await bucket.put(subjects.RISK_LIMITS_KEY, json.dumps(sizes).encode())
        except Exception as error:
            self._metrics.kv_failures.labels(subjects.RISK_LIMITS_KEY).inc()
            _log.error("limits not stored, will retry", extra={"error": str(error)})
            return False
        return True

    async def halt_stored_as(self, bucket: KeyValue, status: HaltStatus) -> bool | None:
        """Whether KV holds exactly `status` (None: the bucket could not be read just now)."""
        try:
            entry = await bucket.get(subjects.HALT_KEY)
        except KeyNotFoundError:
            return False
        except Exception as error:
            self._metrics.kv_failures.labels(f"{subjects.HALT_KEY}-read").inc()
            _log.warning("stored halt state not read", extra={"error": str(error)})
            return None
        return entry.value == encode(halt_state(status))

    async def store_halt(self, bucket: KeyValue, status: HaltStatus) -> bool:
        """Write the halt state to KV; False (counted and logged) when the write failed."""
        try:
            await bucket.put(subjects.HALT_KEY, encode(halt_state(status)))
        except Exception as error:
            self._metrics.kv_failures.labels(subjects.HALT_KEY).inc()
            _log.error("halt state not stored, will retry", extra={"error": str(error)})
            return False
        return True

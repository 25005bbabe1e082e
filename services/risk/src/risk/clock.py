"""Risk's clock: what risk does on time rather than on arrival, every `evaluate_interval_s`.

Each tick, in order:
- the kill switch's time triggers (loss over the window, drawdown, market data down, executor
  heartbeat, EXEC consumer lag) may halt;
- a transient halt whose conditions have all been clear for `halt_heal_after_ms` is lifted: a
  `resume` risk event (check = the trigger), a log line, `risk_halt_heals_total{trigger}`, and
  the lifted state in KV;
- each symbol with orders out whose book or last intent has gone stale (`risk.freshness`) gets a
  cancel-all target, a `block` risk event with check `stale_book` or `stale_intent`, a log line
  and `risk_freshness_pulls_total{input}`: within one tick of the bound;
- intents a throttle held back are retried;
- every `heartbeat_interval_s` (0.2 s): risk's heartbeat, one core publish, which the executor's
  watchdog lives on;
- every `halt_repeat_s` (1 s): the cancel-all repeated while halted, and an unstored halt state
  or changed limits (KV `risk/limits`, the quoter's ceilings) written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from decimal import Decimal
from typing import Protocol

from risk.engine import IntentOutcome, RiskEngine
from risk.exec_feed import ExecFeed
from risk.kill_switch import Trip
from risk.metrics import RiskMetrics
from risk.publisher import Publisher
from risk.settings import RiskSettings

_log = logging.getLogger("risk.clock")


class ClockHost(Protocol):
    """What the clock reads and calls on the risk service, and nothing more."""

    settings: RiskSettings
    engine: RiskEngine
    feed: ExecFeed
    publisher: Publisher
    metrics: RiskMetrics
    halt_dirty: bool
    limits_dirty: bool

    async def halt_on(self, trip: Trip) -> None: ...

    async def send(self, symbol: str, outcome: IntentOutcome, ts_tick_ns: int = 0) -> None: ...

    async def publish_cancel_all(self, symbols: list[str] | None = None) -> None: ...

    async def persist_halt(self) -> None: ...

    async def verify_halt(self) -> None: ...

    async def persist_limits(self) -> None: ...


class RiskClock:
    """The periodic half of the risk service (the other half reacts to messages)."""

    def __init__(self, service: ClockHost) -> None:
        self._service = service
        self._next_heartbeat = 0.0
        self._next_repeat = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged and the next one comes anyway."""
        interval = self._service.settings.evaluate_interval_s
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                _log.exception("risk tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def tick(self) -> None:
        service, engine = self._service, self._service.engine
        now = time.time_ns()
        engine.on_exec_current(service.feed.current_ns)
        service.metrics.exec_lag.set((now - service.feed.current_ns) / 1e9)
        trip = engine.evaluate(now)
        if trip is not None:
            await service.halt_on(trip)
        await self._heal(now)
        await self._pull_stale(now)
        for outcome in engine.retry_held(now):
            if outcome.target is not None:
                await service.send(outcome.target.symbol, outcome)
        if time.monotonic() >= self._next_heartbeat:
            await self._beat()
        if time.monotonic() >= self._next_repeat:
            await self._repeat()

    async def _heal(self, now: int) -> None:
        service = self._service
        trigger = service.engine.halt_status.by
        detail = service.engine.heal(now)
        if not detail:
            return
        service.metrics.halted.set(0)
        service.metrics.halt_heals.labels(trigger).inc()
        _log.warning("transient halt healed", extra={"trigger": trigger, "detail": detail})
        await service.publisher.event("", trigger, "resume", Decimal(0), Decimal(0), detail)
        await service.persist_halt()

    async def _pull_stale(self, now: int) -> None:
        service = self._service
        for stale, target in service.engine.freshness_pulls(now):
            await service.publisher.target(target)
            service.metrics.freshness_pulls.labels(stale.input).inc()
            _log.warning(
                "stale input, orders cancelled",
                extra={"symbol": stale.symbol, "input": stale.input, "detail": stale.detail},
            )
            await service.publisher.event(
                stale.symbol,
                f"stale_{stale.input}",
                "block",
                stale.age_ms,
                Decimal(stale.limit_ms),
                stale.detail,
            )

    async def _beat(self) -> None:
        service = self._service
        await service.publisher.heartbeat()
        self._next_heartbeat = time.monotonic() + service.settings.heartbeat_interval_s

    async def _repeat(self) -> None:
        service = self._service
        if service.engine.halted:
            await service.publish_cancel_all()
        if service.halt_dirty:
            await service.persist_halt()
        else:
            await service.verify_halt()
        if service.limits_dirty:
            await service.persist_limits()
        self._next_repeat = time.monotonic() + service.settings.halt_repeat_s

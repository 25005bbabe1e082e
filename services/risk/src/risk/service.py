"""Risk's wiring: intents, market data, executor facts and commands in; targets and events out.

Decisions are the engine's (`risk.engine`); this module decodes, calls it, and publishes what it
returns. Start order matters: the halt state is read from KV before any intent subscription
exists, so a halted risk stays halted across a restart, and the halt flag flips in memory before
any await, so the very next intent already gets a cancel-all target.

Background tasks run under the runtime's supervisor (`mm_runtime.tasks`), each restarted with
backoff if it ends while risk runs (readiness is false meanwhile): `risk-exec-feed` (re-binds its
consumer; unacked facts are redelivered and the applied sequence skips repeats), `risk-exec-lag`,
and `risk-clock` (`risk.clock`); the config follower is the bus's (`Bus.follow_kv`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

from nats.aio.msg import Msg
from opentelemetry.context import Context

from mm_proto import (
    BookTop,
    FeedState,
    FeedStatus,
    Fill,
    Grid,
    Heartbeat,
    OrderRejected,
    Position,
    QuoteIntent,
    Side,
    subjects,
)
from mm_proto.quoting import Ladder
from mm_runtime.control import ControlServer
from mm_runtime.jetstream import ensure_layout, key_value
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.tasks import OnEnd
from mm_runtime.telemetry import child_span, untraced_tick
from risk.clock import RiskClock
from risk.config_store import ConfigStore
from risk.control import Control, ControlParts
from risk.engine import HaltStatus, IntentOutcome, RiskEngine, Target
from risk.exec_feed import ExecFeed, exec_stream_state, load_snapshot
from risk.fact_values import baseline_entry, fill_fee
from risk.flatten import Flattener
from risk.grids import load_grids
from risk.kill_switch import Trip, is_transient
from risk.limits import RiskLimits
from risk.metrics import RiskMetrics
from risk.publisher import SERVICE, Publisher
from risk.settings import RiskSettings
from risk.stores import load_halt

_log = logging.getLogger("risk.service")


class RiskService:
    """The risk service on the runtime: subscriptions, the periodic tick, and the halt."""

    name = SERVICE

    def __init__(self, settings: RiskSettings) -> None:
        self.settings = settings
        self.instruments: dict[str, Grid] = {}  # each guarded symbol's grid
        self.quote_coins: dict[str, str] = {}
        self._stop = asyncio.Event()
        self.halt_dirty = False
        self.limits_dirty = True  # the limits in force, for the quoter's ceilings (KV risk)
        self._started = False
        self.flattener = Flattener()

    async def start(self, runtime: Runtime) -> None:
        """(If this raises, `mm_runtime.lifecycle` closes the bus connection.)"""
        self._wire(runtime)
        js = runtime.bus.client.jetstream()
        await ensure_layout(js, self.settings.nats.replicas)
        self.instruments, self.quote_coins = await load_grids(runtime, self.settings)
        self.risk_bucket = await key_value(js, subjects.RISK_BUCKET)
        self.config = ConfigStore(self._apply_limits, self._refuse_config)
        limits = await self.config.load(runtime.bus)
        stream_identity, last_sequence = await exec_stream_state(js)
        snapshot = await load_snapshot(self.risk_bucket, stream_identity, last_sequence)
        self.engine = await self._build_engine(limits, snapshot)
        self.config.go_live()
        await self.persist_limits()
        if self.halt_dirty:
            await self.persist_halt()
        parts = ControlParts(
            self.engine, self.instruments, self.config.live_config, self.publisher,
            self.flattener, self.halt, self.resume, self.flatten_step,
        )  # fmt: skip
        self.control = Control(parts, runtime.bus)
        self.feed = ExecFeed(
            runtime.bus,
            self.risk_bucket,
            self.settings,
            self.metrics,
            self.on_exec_fact,
            lambda: {"portfolio": self.engine.portfolio.snapshot()},
            snapshot["sequence"],
            stream_identity,
        )
        await self.feed.bind()
        await self._subscribe()
        self._spawn_tasks(runtime)
        if self.engine.halted:
            await self.publish_cancel_all()
        self._started = True

    def _wire(self, runtime: Runtime) -> None:
        """What `start` builds from the runtime alone, without asking the bus (the handler
        benchmark builds the service with it too)."""
        self.runtime = runtime
        self.metrics = RiskMetrics(runtime.registry)
        self._outcomes = self.metrics.check_outcomes.labels  # reduces, blocks and halts; cached
        self.publisher = Publisher(runtime.bus, self.settings, self.metrics)

    def _spawn_tasks(self, runtime: Runtime) -> None:
        tasks, restart = runtime.tasks, OnEnd.RESTART
        tasks.spawn("risk-exec-feed", lambda: self.feed.run(self._stop), restart)
        interval = self.settings.exec_lag_interval_s
        tasks.spawn("risk-exec-lag", lambda: self.feed.watch_lag(interval), restart)
        clock = RiskClock(self)
        tasks.spawn("risk-clock", lambda: clock.run(self._stop), restart)

    async def _build_engine(self, limits: RiskLimits, snapshot: dict[str, Any]) -> RiskEngine:
        stored = await load_halt(self.risk_bucket)
        # On a first start the state is stored at once (the quoter follows KV), not found
        # missing later and rewritten with a warning.
        self.halt_dirty = stored is None
        halt = stored or HaltStatus()
        now = time.time_ns()
        engine = RiskEngine(self.instruments, limits, halt, now)
        engine.portfolio.restore(snapshot.get("portfolio", {}))
        engine.kill_switch.rearm(now, engine.portfolio.total_pnl())
        self.metrics.halted.set(1 if halt.halted else 0)
        return engine

    async def _subscribe(self) -> None:
        bus, settings = self.runtime.bus, self.settings
        venue, category = settings.venue, settings.category
        # Tops and intents are state: with `conflate_backlog` one replaced by a newer one for its
        # symbol while both waited is never handled (`mm_runtime.conflation`); the executor's
        # facts come by the exec feed, each one handled.
        conflate = settings.conflate_backlog
        book = subjects.book_pattern(venue, category)
        await bus.subscribe(book, BookTop, self.on_book, conflate=conflate)
        await bus.subscribe(
            subjects.feed_status_pattern(venue, category), FeedStatus, self.on_feed_status
        )
        await bus.subscribe(
            subjects.heartbeat(settings.executor_service), Heartbeat, self.on_executor_heartbeat
        )
        await bus.subscribe(
            subjects.quote_intent_pattern(venue, category),
            QuoteIntent,
            self.on_intent,
            conflate=conflate,
        )
        # Commands last: a control reply then implies every other subscription is in place.
        await ControlServer.of(SERVICE, self.control.dispatch).start(bus.client)
        # Ready means subscribed: the lifecycle's round trip after start (`mm_runtime.barrier`;
        # nats-py's flush() proves nothing of queued SUBs) has the server hold every one of them.

    async def stop(self) -> None:
        await self.runtime.tasks.stop()
        self._stop.set()
        await self.feed.close()
        if self.halt_dirty:
            await self.persist_halt()

    def readiness(self) -> tuple[bool, str]:
        if not self._started:
            return False, "starting"
        if self.halt_dirty:
            state = "halted" if self.engine.halted else "not halted"
            return True, f"{state}; halt state not yet stored"
        return True, "halted" if self.engine.halted else "ok"

    async def on_intent(self, intent: QuoteIntent, context: Context, _msg: Msg) -> None:
        if intent.symbol not in self.instruments:
            self.metrics.inputs_refused.labels("quote_intent", "unknown_symbol").inc()
            return
        if untraced_tick(intent.ts_tick_ns, context):
            # From a book update the gateway did not trace: no span (`quoter.publishing`).
            await self.send(intent.symbol, self._check(intent), intent.ts_tick_ns)
            return
        tracer = self.runtime.telemetry.tracer
        with child_span(tracer, "risk.check", context) as span:
            outcome = self._check(intent)
            span.set_attribute("symbol", intent.symbol)
            span.set_attribute("halted", self.engine.halted)
            if outcome.decision is not None:
                span.set_attribute("action", outcome.decision.action.value)
            await self.send(intent.symbol, outcome, intent.ts_tick_ns)

    def _check(self, intent: QuoteIntent) -> IntentOutcome:
        started = time.perf_counter()
        ladder = Ladder(tuple(intent.bids), tuple(intent.asks))
        outcome = self.engine.on_intent(
            intent.symbol, ladder, intent.intent_id, time.time_ns(), intent.color
        )
        self.metrics.check_latency_child.observe(time.perf_counter() - started)
        return outcome

    async def send(self, symbol: str, outcome: IntentOutcome, ts_tick_ns: int = 0) -> None:
        if outcome.decision is None:
            self._outcomes("halt", "block").inc()
        else:
            passes = self.metrics.check_passes
            for check in outcome.decision.passed:
                passes[check].inc()
            for event in outcome.decision.events:
                self._outcomes(event.check, event.outcome.value).inc()
        target = outcome.target
        # A decision made just before a halt must not go out after the halt's cancel-all.
        if target is not None and (target.cancel_all or not self.engine.halted):
            await self._publish_target(target, ts_tick_ns)
        if outcome.decision is not None:
            for event in outcome.decision.events:
                await self.publisher.event(
                    symbol,
                    event.check,
                    event.outcome.value,
                    event.observed,
                    event.limit,
                    event.detail,
                )

    async def on_book(self, book: BookTop, _context: Context, _msg: Msg) -> None:
        if book.symbol not in self.instruments:
            return
        refused = self.engine.on_book(
            book.symbol,
            book.bid_price_ticks,
            book.ask_price_ticks,
            book.ts_gateway_ns,
            time.time_ns(),
        )
        if refused:
            self.metrics.inputs_refused.labels("book", refused.split(":")[0]).inc()
        elif self.flattener.active(book.symbol):
            await self.flatten_step(book.symbol)

    async def on_feed_status(self, status: FeedStatus, _context: Context, _msg: Msg) -> None:
        if status.symbol in self.instruments:
            live = status.state is FeedState.LIVE
            self.engine.on_feed_status(status.symbol, live, time.time_ns())

    async def on_executor_heartbeat(self, _beat: Heartbeat, _context: Context, _msg: Msg) -> None:
        self.engine.on_executor_heartbeat(time.time_ns())

    async def on_exec_fact(self, family: str, message: object) -> None:
        now = time.time_ns()
        trip: Trip | None = None
        if isinstance(message, Fill):
            signed = message.size_lots if message.side is Side.BUY else -message.size_lots
            trip = self.engine.on_fill(
                message.symbol,
                message.fill_id,
                signed,
                message.price_ticks,
                self._fee(message),
                now,
                message.seq,
                received_ns=message.ts_received_ns,
            )
            if trip is None and self.flattener.active(message.symbol):
                await self.flatten_step(message.symbol)
            elif trip is None:
                outcome = self.engine.recheck(message.symbol, now)
                if outcome is not None:
                    await self.send(message.symbol, outcome)
        elif isinstance(message, Position):
            trip = self.engine.on_position(
                message.symbol,
                message.size_lots,
                baseline_entry(message, self.instruments.get(message.symbol)),
                message.seq,
                read_ns=message.ts_read_ns or None,
            )
        elif isinstance(message, OrderRejected):
            trip = self.engine.on_reject(message.ts_event_ns, now)
        for effect, count in self.engine.take_baseline_effects().items():
            if count:
                self.metrics.baseline_fills.labels(effect).inc(count)
        if trip is not None:
            await self.halt_on(trip)

    def _fee(self, fill: Fill) -> Decimal:
        fee = fill_fee(fill, self.quote_coins[fill.symbol])
        if fee is None:
            self.metrics.inputs_refused.labels("fill_fee", "not_in_quote_coin").inc()
            return Decimal(0)
        return fee

    async def halt_on(self, trip: Trip) -> None:
        await self.halt(
            trip.detail,
            trip.trigger.value,
            trip.trigger.value,
            trip.symbol,
            trip.observed,
            trip.limit,
        )

    async def halt(
        self,
        reason: str,
        by: str,
        trigger: str,
        symbol: str = "",
        observed: Decimal = Decimal(1),
        limit: Decimal = Decimal(0),
    ) -> bool:
        """Trip the kill switch: cancel-all everywhere, a halt event, the state into KV."""
        if not self.engine.halt(reason, by, time.time_ns(), is_transient(trigger)):
            return False
        transient = self.engine.halt_status.transient
        self.metrics.halted.set(1)
        self.metrics.halts.labels(trigger).inc()
        extra = {"trigger": trigger, "by": by, "reason": reason, "transient": transient}
        _log.warning("halted", extra=extra)
        await self.publish_cancel_all()
        kind = "transient, heals once clear" if transient else "needs mm resume"
        await self.publisher.event(symbol, trigger, "halt", observed, limit, f"{reason} ({kind})")
        await self.persist_halt()
        return True

    async def resume(self, reason: str, by: str) -> str:
        """Lift the halt; "" or why not."""
        was_halted = self.engine.halted
        refusal = self.engine.resume(reason, by, time.time_ns())
        if refusal or not was_halted:
            return refusal
        self.metrics.halted.set(0)
        _log.warning("resumed", extra={"by": by, "reason": reason})
        await self.publisher.event(
            "", "kill_switch", "pass", Decimal(0), Decimal(0), f"resumed by {by}: {reason}"
        )
        await self.persist_halt()
        return ""

    async def publish_cancel_all(self, symbols: list[str] | None = None) -> None:
        for symbol in symbols or list(self.instruments):
            await self._publish_target(self.engine.cancel_all_target(symbol))

    async def _publish_target(self, target: Target, ts_tick_ns: int = 0) -> None:
        """Publish a target, unless the symbol is flattening: then the flatten target stands."""
        if self.flattener.active(target.symbol):
            await self.flatten_step(target.symbol)
            return
        await self.publisher.target(target, ts_tick_ns)

    async def flatten_step(self, symbol: str) -> None:
        """Publish the flatten target if it moved; end the flatten once the position is zero;
        while it cannot be priced (no live book) nothing rests for the symbol."""
        position = self.engine.portfolio.position_lots(symbol)
        planned = self.flattener.next_target(
            symbol, position, self.engine.market(symbol), time.time_ns()
        )
        if isinstance(planned, Target):
            await self.publisher.target(planned)
        elif planned is not None:
            if position == 0:
                self.flattener.stop(symbol)
                _log.warning("flatten done", extra={"symbol": symbol})
                await self.publisher.event(
                    symbol, "flatten", "pass", Decimal(0), Decimal(0), "flat; flatten done"
                )
            await self.publisher.target(self.engine.cancel_all_target(symbol))

    async def persist_halt(self) -> None:
        stored = await self.publisher.store_halt(self.risk_bucket, self.engine.halt_status)
        self.halt_dirty = not stored

    async def verify_halt(self) -> None:
        """Write the halt state again when KV holds anything else: a write reported as failed
        (a timeout while the server was frozen) may still land after a later one, and the quoter
        follows what KV holds, not what risk believes."""
        same = await self.publisher.halt_stored_as(self.risk_bucket, self.engine.halt_status)
        if same is False:
            self.metrics.halt_rewrites.inc()
            _log.warning(
                "stored halt state differs from risk's, writing it again",
                extra={"halted": self.engine.halted, "reason": self.engine.halt_status.reason},
            )
            await self.persist_halt()

    async def persist_limits(self) -> None:
        symbols = list(self.instruments)
        stored = await self.publisher.store_limits(self.risk_bucket, self.engine.limits, symbols)
        self.limits_dirty = not stored

    def _apply_limits(self, limits: RiskLimits) -> None:
        self.limits_dirty = True  # stored by the clock's next repeat
        self.engine.apply_limits(limits)
        self.metrics.config_updates.labels("applied").inc()
        _log.info("limits applied")

    async def _refuse_config(self, key: str, reasons: list[str]) -> None:
        self.metrics.config_updates.labels("refused").inc()
        detail = f"{key} refused: " + "; ".join(reasons)
        _log.warning("configuration refused", extra={"key": key, "reasons": reasons})
        await self.publisher.event("", "config", "block", Decimal(0), Decimal(0), detail)


async def run(
    settings: RiskSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run risk until `stop` is set (or a signal arrives)."""
    await serve(RiskService(settings), settings, stop, ready)

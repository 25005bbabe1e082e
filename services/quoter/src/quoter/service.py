"""The quoter's wiring: market data, positions, halt and config in; quote intents out.

Per symbol the work is done by `SymbolQuoter` (pure); this module decodes, calls it, and publishes
what it decides. Start-up order matters: the agreed JetStream layout is ensured, the KV config and
halt state are replayed (so the first intent already uses them), then the position stream is
followed (so inventory is known), then market data, then the refresh timer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from nats.aio.msg import Msg
from nats.js import api
from opentelemetry.context import Context

from mm_proto import (
    BookTop,
    FeedState,
    FeedStatus,
    FeeSchedule,
    Fill,
    HaltState,
    InstrumentDefinition,
    Position,
    Side,
    Trade,
    subjects,
)
from mm_proto.rollout import RolloutState, unjudged_after_ns
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import follow
from mm_runtime.control import ControlServer
from mm_runtime.followers import DropHook, KvFollower, StreamFollower
from mm_runtime.instruments import InstrumentFollower
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.live_config import LiveConfig, Refusal, Values
from quoter import obligation_facts
from quoter.control import Control
from quoter.messages import touch_from_book
from quoter.metrics import QuoterMetrics
from quoter.params import SPEC, QuoterParams
from quoter.publishing import IntentPublisher, Step
from quoter.rollout_view import params_or_blue
from quoter.rollout_watch import RolloutWatch
from quoter.settings import QuoterSettings
from quoter.shards import QuoterShards
from quoter.strategy import Decision, SymbolQuoter
from quoter.venue_facts import VenueFacts

_log = logging.getLogger("quoter")


class QuoterService:
    """Subscriptions and timers around one `SymbolQuoter` per configured instrument."""

    name = "quoter"

    def __init__(self, settings: QuoterSettings) -> None:
        self._settings = settings
        self._fees = settings.maker_fee_rates()
        self.venue_facts = VenueFacts(self._fees, self.apply_fee)
        known = settings.known_instruments()
        self.quoters = {
            symbol: SymbolQuoter(known.get(symbol), settings.params, self._fees[symbol])
            for symbol in settings.quoted_symbols()
        }
        self.instruments: InstrumentFollower | None = None
        self.config = LiveConfig(
            SPEC, settings.params, self.quoters, self.on_config_change, self.on_config_refused
        )
        self._stopping = False
        self._runtime: Runtime | None = None
        self._metrics: QuoterMetrics | None = None
        self._publisher: IntentPublisher | None = None
        self._followers: list[KvFollower[Any] | StreamFollower[Any]] = []
        self._positions: StreamFollower[Position] | None = None
        self.rollout: RolloutWatch  # the canary rollout's state from KV, from `start` on
        self.shards = QuoterShards(settings, self.quoters)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the quoter service is not started")
        return self._runtime

    @property
    def publisher(self) -> IntentPublisher:
        if self._publisher is None:
            raise RuntimeError("the quoter service is not started")
        return self._publisher

    @property
    def metrics(self) -> QuoterMetrics:
        if self._metrics is None:
            raise RuntimeError("the quoter service is not started")
        return self._metrics

    def _wire(self, runtime: Runtime) -> None:
        """What `start` builds from the runtime alone, without asking the bus (the handler
        benchmark builds the service with it too)."""
        self._runtime = runtime
        self._metrics = QuoterMetrics(runtime.registry)
        settings = self._settings
        bound = unjudged_after_ns(settings.rollout_look_interval_s)
        self.rollout = RolloutWatch(bound, self._metrics)
        self._publisher = IntentPublisher(
            runtime, self._metrics, settings.venue, settings.category, settings.instance_id
        )

    async def start(self, runtime: Runtime) -> None:
        self._wire(runtime)
        settings = self._settings
        await ensure_layout(runtime.bus.client.jetstream(), settings.nats.replicas)
        for symbol, quoter in self.quoters.items():
            self.metrics.color.labels(symbol, quoter.params.color).set(1)
        # Supervised (mm_runtime.tasks): a KV follower restarts if it ends, binding and watching
        # afresh; a stream follower's job ends once it has subscribed.
        await self._follow_state(runtime.bus)
        self.instruments = InstrumentFollower(
            runtime.bus, runtime.metrics, settings.venue, settings.category,
            self.on_definition, retry_s=settings.bind_retry_s,
        )  # fmt: skip
        await self.instruments.start()
        self.config.go_live()
        self._follow_exec(runtime.bus)
        await self._subscribe_market_data(runtime)
        control = Control(
            self.quoters, self.config, runtime.bus, self.shards.and_leases(self.rollout.status)
        )
        await ControlServer.of(self.name, control.dispatch).start(runtime.bus.client)
        runtime.tasks.spawn("quoter-refresh", self._refresh_loop)
        self.obligation = obligation_facts.spawn(runtime, self.quoters, settings, self.metrics)
        self.shards.start(runtime, self.publisher, self.obligation)  # lease mode: gates them

    async def _follow_state(self, bus: Bus) -> None:
        """Config, halt and fees from KV; returns once config and halt are replayed."""
        settings, retry = self._settings, self._settings.bind_retry_s
        keys = subjects.instrument_key_pattern(settings.venue, settings.category)
        halt = bus.follow_kv(
            subjects.RISK_BUCKET, subjects.HALT_KEY, HaltState, self.on_halt,
            retry_s=retry, on_drop=self.on_unreadable_halt,
        )  # fmt: skip
        fees = bus.follow_kv(
            subjects.FEE_BUCKET, keys, FeeSchedule, self.venue_facts.on_fee_schedule,
            retry_s=retry, on_drop=self._dropped("fees"),
        )  # fmt: skip
        rollout = bus.follow_kv(
            subjects.ROLLOUT_BUCKET, subjects.ROLLOUT_KEY, RolloutState, self.on_rollout,
            retry_s=retry, on_drop=self.on_unreadable_rollout,
        )  # fmt: skip
        self._followers += [halt, fees, rollout]
        config, _, _ = await asyncio.gather(
            follow(self.config, bus, retry), halt.loaded.wait(), rollout.loaded.wait()
        )
        self._followers.append(config)

    def _follow_exec(self, bus: Bus) -> None:
        """Positions (the latest of each, then changes) and fills from stream EXEC."""
        settings, retry = self._settings, self._settings.bind_retry_s
        self._positions = bus.follow_stream(
            subjects.EXEC_STREAM, subjects.exec_position_pattern(settings.venue, settings.category),
            Position, self.on_position, deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT,
            retry_s=retry, on_drop=self._dropped("position"),
        )  # fmt: skip
        fills = bus.follow_stream(
            subjects.EXEC_STREAM, subjects.exec_fill_pattern(settings.venue, settings.category),
            Fill, self.on_fill, deliver_policy=api.DeliverPolicy.NEW,
            retry_s=retry, on_drop=self._dropped("fill"),
        )  # fmt: skip
        self._followers += [self._positions, fills]

    async def _subscribe_market_data(self, runtime: Runtime) -> None:
        venue, category = self._settings.venue, self._settings.category
        conflate = self._settings.conflate_backlog
        for symbol in self.quoters:
            bus = runtime.bus
            # With `conflate_backlog` a top replaced by a newer one while both waited is never
            # priced (trades are not conflated: each feeds the flow estimate).
            book = subjects.book(venue, category, symbol)
            await bus.subscribe(book, BookTop, self.on_book, conflate=conflate)
            await bus.subscribe(subjects.trade(venue, category, symbol), Trade, self.on_trade)
            await bus.subscribe(
                subjects.feed_status(venue, category, symbol), FeedStatus, self.on_feed_status
            )

    async def stop(self) -> None:
        """Stop the timer and followers, then pull every symbol's quotes on the way out."""
        # From here handlers still running until the drain may compute but never publish, so the
        # pull below stays the last intent of every symbol.
        self._stopping = True
        for follower in self._followers:
            await follower.stop()
        if self.instruments is not None:
            await self.instruments.stop()
        if self._runtime is not None:
            await self._runtime.tasks.stop()
        now = time.time_ns()
        for symbol, quoter in self.quoters.items():
            decision = quoter.decide(now, forced_pull="stopping")
            await self.publisher.emit(symbol, quoter, decision, now)
        await self.shards.stop()

    def readiness(self) -> tuple[bool, str]:
        if not self.config.live:
            return False, "loading config and halt state"
        if self._positions is None or not self._positions.bound.is_set():
            return False, "waiting for the EXEC stream (positions)"
        return True, "ok"

    def _quoter(self, symbol: str, input_name: str) -> SymbolQuoter | None:
        quoter = self.quoters.get(symbol)
        if quoter is None:
            self.metrics.dropped.labels(input_name, "unknown_symbol").inc()
        return quoter

    async def on_book(self, book: BookTop, context: Context, _msg: Msg) -> None:
        """One computation per book update: the gateway publishes a top for every update it
        applies, so the depth it sends beside some of them (same `update_id`, same touch) is not
        read here."""
        quoter = self._quoter(book.symbol, "book")
        if quoter is not None and not self._stopping:
            touch = touch_from_book(book)

            def step(now: int) -> Decision:
                return quoter.on_touch(touch, now)

            await self.publisher.compute_tick(book, quoter, step, context)

    async def on_trade(self, trade: Trade, _context: Context, _msg: Msg) -> None:
        quoter = self._quoter(trade.symbol, "trade")
        if quoter is not None:
            taker_buys = trade.taker_side is Side.BUY
            quoter.on_trade(taker_buys, trade.size_lots, time.time_ns())

    async def on_feed_status(self, status: FeedStatus, context: Context, _msg: Msg) -> None:
        quoter = self._quoter(status.symbol, "feed_status")
        if quoter is not None:
            live = status.state is FeedState.LIVE

            def step(now: int) -> Decision:
                return quoter.on_feed(live, now)

            await self._compute(status.symbol, step, context)

    async def on_definition(self, definition: InstrumentDefinition) -> None:
        """A symbol's new grid or venue status, from the instrument follower (already vetted)."""
        quoter = self.quoters.get(definition.symbol)
        if quoter is None:
            return  # the follower carries every symbol of the venue and category
        grid = definition.grid()
        if grid != quoter.instrument or grid.trading != quoter.trading:
            _log.info(
                "instrument updated",
                extra={"symbol": definition.symbol, "status": definition.status},
            )

            def step(now: int) -> Decision:
                return quoter.set_instrument(grid, grid.trading, now)

            await self._compute(definition.symbol, step, None)

    async def apply_fee(self, symbol: str) -> None:
        """Re-price a symbol with the maker fee now known for it."""
        quoter, rate = self.quoters.get(symbol), self._fees[symbol]
        if quoter is None or quoter.instrument is None:
            if quoter is not None:
                quoter.maker_fee_rate = rate  # priced with once the grid arrives
            return

        def step(now: int) -> Decision:
            return quoter.set_maker_fee(rate, now)

        await self._compute(symbol, step, None)

    async def on_position(self, position: Position, _msg: Msg) -> None:
        if position.category != self._settings.category:
            return
        quoter = self.quoters.get(position.symbol)  # the stream carries every shard's symbols
        if quoter is not None:
            self.metrics.inventory.labels(position.symbol).set(position.size_lots)

            def step(now: int) -> Decision:
                return quoter.on_position(position.size_lots, now)

            await self._compute(position.symbol, step, None)

    async def on_fill(self, fill: Fill, _msg: Msg) -> None:
        if fill.category != self._settings.category:
            return
        quoter = self.quoters.get(fill.symbol)
        if quoter is not None:
            await self._compute(fill.symbol, quoter.on_fill, None)

    def _dropped(self, input_name: str) -> DropHook:
        async def count(_where: str, reason: str) -> None:
            self.metrics.dropped.labels(input_name, reason).inc()

        return count

    async def on_halt(self, _key: str, state: HaltState | None) -> None:
        """The kill switch: halted while the stored state says so; deleted means not halted."""
        await self._set_halted(state is not None and state.halted)

    async def on_unreadable_halt(self, _key: str, reason: str) -> None:
        """An unreadable halt value counts as halted (the safe reading)."""
        self.metrics.dropped.labels("halt", reason).inc()
        _log.error("unreadable halt state, treating as halted", extra={"reason": reason})
        await self._set_halted(True)

    async def _set_halted(self, halted: bool) -> None:
        self.metrics.halted.set(int(halted))
        for symbol, quoter in self.quoters.items():

            def step(now: int, quoter: SymbolQuoter = quoter) -> Decision:
                return quoter.on_halt(halted, now)

            await self._compute(symbol, step, None)

    async def on_config_change(
        self, before: Values[QuoterParams], after: Values[QuoterParams]
    ) -> None:
        """Apply changed parameters: in full while starting, through the strategy afterwards."""
        await self._apply_params(after)

    async def on_rollout(self, _key: str, state: RolloutState | None) -> None:
        """The canary rollout moved: symbols join or leave the candidate's parameters."""
        if self.rollout.update(state, time.time_ns()):
            await self._apply_params(self.config.values)

    async def on_unreadable_rollout(self, _key: str, reason: str) -> None:
        """An unreadable rollout state puts every symbol on blue (the live config), loudly."""
        self.metrics.dropped.labels("rollout", reason).inc()
        if self.rollout.unreadable(reason):
            await self._apply_params(self.config.values)

    async def _apply_params(self, values: Values[QuoterParams]) -> None:
        rollout = self.rollout.in_force()
        for symbol, quoter in self.quoters.items():
            params, refused = params_or_blue(symbol, values.for_symbol(symbol), rollout)
            if refused:
                self.metrics.config_refusals.labels(symbol, "rollout_candidate").inc()
                _log.error("rollout candidate refused, quoting blue", extra={"detail": refused})
            if params == quoter.params:
                continue
            self.metrics.color.labels(symbol, quoter.params.color).set(0)
            self.metrics.color.labels(symbol, params.color).set(1)
            if not self.config.live:  # no market data yet: restart-only values may apply
                quoter.configure(params)
                continue
            _log.info("parameters changed", extra={"symbol": symbol, "color": params.color})

            def step(
                now: int, quoter: SymbolQuoter = quoter, params: QuoterParams = params
            ) -> Decision:
                return quoter.set_params(params, now)

            await self._compute(symbol, step, None)

    async def on_config_refused(self, refusal: Refusal) -> None:
        scope = refusal.key.split(".", 1)[-1]
        self.metrics.config_refusals.labels(scope, refusal.reason).inc()

    async def _refresh_loop(self) -> None:
        """Staleness by silence, windows and cooldowns, max quote age and coverage snapshots."""
        while True:
            await asyncio.sleep(self._settings.timer_interval_s)
            now = time.time_ns()
            await self._check_rollout(now)
            for symbol, quoter in self.quoters.items():
                try:
                    await self._refresh(symbol, quoter, now)
                except Exception:
                    # The timer is what pulls quotes on silence: it must outlive any one failure.
                    _log.exception("refresh failed", extra={"symbol": symbol})

    async def _check_rollout(self, now: int) -> None:
        """No judge, no canary (`rollout_watch`): a rollout unlooked-at too long stops applying."""
        try:
            if self.rollout.check(now):
                await self._apply_params(self.config.values)
        except Exception:
            _log.exception("rollout check failed")

    async def _refresh(self, symbol: str, quoter: SymbolQuoter, now: int) -> None:
        snapshots = quoter.coverage.snapshots
        await self._emit(symbol, quoter.on_timer(now), now)
        self.metrics.note_coverage(symbol, quoter.coverage, snapshots)

    async def _compute(
        self, symbol: str, step: Step, context: Context | None, ts_gateway_ns: int = 0
    ) -> None:
        if not self._stopping:
            quoter = self.quoters[symbol]
            await self.publisher.compute(symbol, quoter, step, context, ts_gateway_ns)

    async def _emit(self, symbol: str, decision: Decision, now: int) -> None:
        if not self._stopping:
            await self.publisher.emit(symbol, self.quoters[symbol], decision, now)


async def run(
    settings: QuoterSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the quoter until `stop` is set (or SIGTERM/SIGINT when run as a process)."""
    await serve(QuoterService(settings), settings, stop, ready)

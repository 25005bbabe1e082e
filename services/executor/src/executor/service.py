"""The executor's wiring: targets in, venue orders out, venue truth onto JetStream.

Start-up order matters: the durable layout, the instruments (md_gateway's definitions, through the
instrument follower; the grids are fixed for the process's life), the trade stream, then the
private stream, whose first session catches up on executions since the last fill on the stream
and then triggers a reconciliation with the venue's open orders and positions. Only after that
reconciliation (and after every later one, following a private-stream reconnect) do the
per-symbol workers act on targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from nats.aio.msg import Msg
from opentelemetry.context import Context

from executor.client_ids import ClientIdFactory
from executor.commands import CommandView, OperatorCommands
from executor.config_watch import ConfigWatch
from executor.fact_store import FactStore
from executor.feed_guard import FeedGuard
from executor.fees import store_account_fees
from executor.flat_keeper import FlatKeeper, await_orders_gone
from executor.housekeeping import Housekeeping
from executor.latency_window import TickToOrderWindow
from executor.metrics import ExecutorMetrics
from executor.order_sender import OrderEntry, OrderSender
from executor.own_orders import OwnOrders
from executor.periodic_reconciliation import PeriodicReconciliation
from executor.planner import VenueRules
from executor.risk_watch import RiskWatch
from executor.settings import ExecutorSettings
from executor.shards import ExecutorShards
from executor.symbol_worker import SymbolWorker
from executor.venue_feed import VenueFeed
from executor.venue_links import (
    arm_dcp,
    private_stream,
    rest_client,
    trade_stream,
    venue_credentials,
)
from executor.venue_sync import last_fill_time_ms, reconcile_all
from executor.watchdog import Watchdog
from mm_bybit.api import BybitRestApi
from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_bybit.ws_private import PrivateStream
from mm_bybit.ws_trade import TradeStream
from mm_proto import (
    FeedStatus,
    Heartbeat,
    InstrumentDefinition,
    OrderTarget,
    subjects,
)
from mm_runtime.control import ControlServer
from mm_runtime.instruments import wait_for_definitions
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.tasks import OnEnd

_log = logging.getLogger("executor")

FIRST_SYNC_TIMEOUT_S = 20.0
CONFIG_RETRY_S = 2.0  # binding KV `config` again while the bucket does not exist


class ExecutorService:
    """Single writer of orders for its symbols on one venue account."""

    name = "executor"

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        self.ids = ClientIdFactory(settings.order_prefix, settings.instance_id)
        self.latency = TickToOrderWindow(
            settings.venue_name, settings.venue.category, self.ids.boot
        )
        self.own_orders = {symbol: OwnOrders(symbol) for symbol in settings.symbols}
        self.synced = asyncio.Event()
        self.watchdog = Watchdog(settings.watchdog_timeout_s, time.monotonic())
        self.workers: dict[str, SymbolWorker] = {}
        self.instruments: dict[str, InstrumentDefinition] = {}
        self._stopping = False
        self._resync_pending = False
        self.config = ConfigWatch(settings, self.watchdog)  # live: KV `config`
        self._runtime: Runtime | None = None
        self._api: BybitRestApi | None = None
        self._rest: RestClient | None = None
        self._private: PrivateStream | None = None
        self._trade: TradeStream | None = None
        self._feed: VenueFeed | None = None
        self._facts: FactStore | None = None
        self._flat = FlatKeeper(
            lambda: self.api, settings.venue.category, self.workers, self._must_stay_flat,
            lambda: self.shards.owned_symbols(),
        )  # fmt: skip
        self._metrics: ExecutorMetrics | None = None
        self._risk_watch: RiskWatch | None = None
        self._feed_guard: FeedGuard | None = None
        self.shards = ExecutorShards(settings, self.workers, self.ids)  # lease mode's gate

    @property
    def cancel_on_shutdown(self) -> bool:
        """Whether a shutdown cancels our orders (the settings' value, or switched on live)."""
        return self.config.values.cancel_on_shutdown

    @property
    def api(self) -> BybitRestApi:
        if self._api is None:
            raise RuntimeError("the executor service is not started")
        return self._api

    @property
    def metrics(self) -> ExecutorMetrics:
        if self._metrics is None:
            raise RuntimeError("the executor service is not started")
        return self._metrics

    @property
    def risk_watch(self) -> RiskWatch:
        if self._risk_watch is None:
            raise RuntimeError("the executor service is not started")
        return self._risk_watch

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._metrics = ExecutorMetrics(runtime.registry)
        self._risk_watch = RiskWatch(self.watchdog, self.workers, self._flat, self._metrics)
        credentials = venue_credentials(self.settings.venue)
        jetstream = runtime.bus.client.jetstream()
        await ensure_layout(jetstream, self.settings.nats.replicas)
        settings = self.settings
        self.instruments = await wait_for_definitions(
            runtime, settings.venue_name, settings.venue.category, settings.symbols,
            settings.instrument_wait_s,
        )  # fmt: skip
        self._connect_venue(credentials)
        await store_account_fees(
            self.api,
            jetstream,
            self.settings.venue_name,
            self.settings.venue.category,
            list(self.settings.symbols),
        )
        await self.config.follow(runtime.bus, self.metrics.config_refused, CONFIG_RETRY_S)
        entry = self._order_entry(credentials)
        self._facts = FactStore(jetstream, self.metrics, self._on_store_down, self._on_store_up)
        self._feed = VenueFeed(
            jetstream,
            self.settings.venue_name,
            self.instruments,
            self.own_orders,
            self.ids,
            self.metrics,
            self._on_order_change,
            self._on_resynced,
            self._facts,
        )
        self.shards.attach(self._feed, self.instruments, lambda: self.api)
        self._build_workers(entry, runtime)
        self._feed_guard = FeedGuard(
            lambda: self.api, settings.venue.category, self.workers, self.metrics,
            self._feed.on_orders, self.shards.may_write,
        )  # fmt: skip
        tasks = runtime.tasks
        tasks.spawn("executor-feed", self._feed.run)  # restart: pushes wait in the feed's queue
        tasks.spawn("executor-facts", self._facts.run)
        interval_ns = int(settings.gate_facts_interval_s * 1e9)
        latency = functools.partial(self.latency.run, self._facts.publish, interval_ns)
        tasks.spawn("executor-latency", latency)
        await self._start_private_stream(credentials, jetstream)
        await self._subscribe(runtime)
        # Supervised (mm_runtime.tasks). A worker cut off mid-plan leaves its view of its orders
        # uncertain, so its end takes the process down: shutdown cancels everything at the venue
        # and a fresh start reconciles. The other loops keep their state outside the coroutine
        # and restart.
        for worker in self.workers.values():
            tasks.spawn(f"executor-worker-{worker.symbol}", worker.run, OnEnd.EXIT)
        tasks.spawn("executor-watchdog", self.risk_watch.run)
        tasks.spawn("executor-housekeeping", self._housekeeping().run)
        if settings.reconciliation_interval_s > 0:
            tasks.spawn("executor-reconciliation", self._periodic_reconciliation().run)
        tasks.spawn("executor-heartbeat", self._heartbeats)
        await arm_dcp(self.api, self.settings.venue)
        try:
            await asyncio.wait_for(self.synced.wait(), FIRST_SYNC_TIMEOUT_S)
        except TimeoutError:
            _log.warning("no reconciliation with the venue yet; not acting until there is one")
        self.shards.start(runtime, self.ids.boot)  # lease mode: takeovers reconcile per symbol

    def _connect_venue(self, credentials: ApiCredentials) -> None:
        """REST with the rate budget and breaker."""
        self._rest = rest_client(self.settings.venue, credentials)
        self._api = BybitRestApi(self._rest)

    def _order_entry(self, credentials: ApiCredentials) -> OrderEntry:
        if not self.settings.venue.use_trade_websocket:
            return self.api
        self._trade = trade_stream(self.settings.venue, credentials, self.api)
        assert self._runtime is not None
        # Supervised: an end of the socket's loop is logged, turns /readyz false and restarts it.
        self._runtime.tasks.spawn("executor-trade-ws", self._trade.connection.supervised)
        return self._trade

    def _build_workers(self, entry: OrderEntry, runtime: Runtime) -> None:
        rules = VenueRules(allow_size_increase=self.settings.venue.allow_size_increase)
        feed = self._feed
        assert feed is not None
        for symbol, instrument in self.instruments.items():
            sender = OrderSender(
                entry,
                instrument,
                self.own_orders[symbol],
                self.ids,
                self.metrics,
                max_attempts=self.settings.max_send_attempts,
                retry_delay_s=self.settings.retry_delay_s,
                use_batches=self.settings.venue.use_batches,
                tracer=runtime.telemetry.tracer,
                on_rejected=functools.partial(feed.on_rejected, symbol),
                on_tick_to_order=functools.partial(self.latency.observe, symbol),
                may_write=self.shards.gate(symbol),
            )
            self.workers[symbol] = SymbolWorker(sender, rules, self.synced, self.watchdog)

    async def _start_private_stream(self, credentials: ApiCredentials, jetstream: object) -> None:
        assert self._feed is not None
        feed = self._feed
        self._private = private_stream(
            self.settings.venue, credentials, feed, self.api, self._on_private_state
        )
        self._private.fills.latest_exec_time_ms = await last_fill_time_ms(
            feed.jetstream, self.settings.venue_name, self.instruments
        )
        assert self._runtime is not None
        self._runtime.tasks.spawn("executor-private-ws", self._private.connection.supervised)

    async def _subscribe(self, runtime: Runtime) -> None:
        bus, venue = runtime.bus, self.settings.venue_name
        for instrument in self.instruments.values():
            subject = subjects.order_target(venue, instrument.category, instrument.symbol)
            await bus.subscribe(subject, OrderTarget, self.on_target)
        await bus.subscribe(subjects.heartbeat("risk"), Heartbeat, self.on_risk_heartbeat)
        category = self.settings.venue.category
        status_subject = subjects.feed_status_pattern(venue, category)
        await bus.subscribe(status_subject, FeedStatus, self.on_feed_status)
        self.watchdog.listening(time.monotonic())
        view = CommandView(
            self.own_orders,
            self.synced,
            self.watchdog,
            self.config.live_config,
            lambda: self.store_down_reason,
            lambda: self.api,
            self.settings.venue.category,
            self.shards.status,
        )
        commands = OperatorCommands(view, bus)
        await ControlServer.of(self.name, commands.dispatch).start(bus.client)

    def _on_private_state(self, event: ConnectionEvent) -> None:
        if isinstance(event, Disconnected) and self.synced.is_set():
            _log.warning(
                "private stream lost; pausing until reconciled", extra={"reason": event.reason}
            )
            self.synced.clear()

    async def _on_resynced(self) -> None:
        """After every (re)subscription: reconcile every symbol, then let the workers act."""
        assert self._feed is not None
        reconciled = await reconcile_all(
            self.api, self.instruments, self.workers, self.ids, self._feed, self._cancel_foreign
        )
        if not reconciled:
            self._resync_pending = True  # stays unsynced; housekeeping tries again
            return
        if self.store_down_reason is not None:
            _log.info("reconciled, but facts cannot be stored; not acting until they can")
            return
        self.synced.set()
        for worker in self.workers.values():
            worker.wake()

    @property
    def store_down_reason(self) -> str | None:
        """Why facts cannot be stored right now, or None."""
        return self._facts.down_reason if self._facts is not None else None

    def _on_store_down(self, reason: str) -> None:
        """Fail closed: stop acting on targets and cancel every order until the venue confirms."""
        self.synced.clear()
        self._flat.start("fact store down")

    def _on_store_up(self) -> None:
        _log.warning("facts stored again; reconciling before acting on targets")
        if self._feed is not None:
            self._feed.on_resynced_push()

    def _must_stay_flat(self) -> bool:
        return not self._stopping and (self.watchdog.tripped or self.store_down_reason is not None)

    def _on_order_change(self, symbol: str) -> None:
        worker = self.workers.get(symbol)
        if worker is not None:
            worker.wake()

    async def on_target(self, target: OrderTarget, context: Context, _msg: Msg) -> None:
        if self._stopping:
            return
        worker = self.workers.get(target.symbol)
        if worker is None:
            self.metrics.dropped.labels("target", "unknown_symbol").inc()
            return
        self.risk_watch.beat()
        worker.offer(target, context)

    async def on_feed_status(self, status: FeedStatus, _context: Context, _msg: Msg) -> None:
        if not self._stopping and self._feed_guard is not None:
            self._feed_guard.on_status(status)

    async def on_risk_heartbeat(self, _beat: Heartbeat, _context: Context, _msg: Msg) -> None:
        self.risk_watch.beat()

    def _housekeeping(self) -> Housekeeping:
        assert self._rest is not None
        return Housekeeping(
            self.api,
            self._rest,
            self.workers,
            self.metrics,
            self.settings.unconfirmed_query_after_s,
            self._retry_resync,
        )

    def _periodic_reconciliation(self) -> PeriodicReconciliation:
        assert self._feed is not None
        return PeriodicReconciliation(
            self.api, self.instruments, self.workers, self.ids, self._feed,
            self.settings.reconciliation_interval_s,
            lambda symbol: self.readiness()[0] and not (self._stopping or self.watchdog.tripped)
            and self.shards.may_write(symbol),
            self._cancel_foreign,
        )  # fmt: skip

    def _cancel_foreign(self, symbol: str) -> bool:
        return self.settings.cancel_foreign_orders and self.shards.may_write(symbol)

    def _retry_resync(self) -> None:
        private = self._private
        if self._resync_pending and private is not None and private.connection.connected:
            self._resync_pending = False
            if self._feed is not None:
                self._feed.on_resynced_push()

    async def _heartbeats(self) -> None:
        assert self._runtime is not None
        subject = subjects.heartbeat(self.name)
        while True:
            beat = Heartbeat(
                service=self.name, instance_id=self.settings.instance_id, ts_sent_ns=time.time_ns()
            )
            with contextlib.suppress(Exception):
                await self._runtime.bus.publish(subject, beat)
            await asyncio.sleep(self.settings.heartbeat_interval_s)

    async def stop(self) -> None:
        """Stop intake, cancel our orders (when configured), flush the feed, close the venue."""
        self._stopping = True
        for worker in self.workers.values():
            worker.stopping = True
        if self.cancel_on_shutdown and self._api is not None:
            await self._flat.cancel_once(self.shards.owned_symbols(), "shutdown")
            await await_orders_gone(self.own_orders, 2.0)
        await self.shards.stop()  # lease mode: release what we held, so the partner takes it
        if self._feed is not None:
            await self._feed.flush(1.0)
        if self._runtime is not None:
            await self._runtime.tasks.stop()
        if self._feed_guard is not None:
            await self._feed_guard.stop()
        flat_tasks = self._flat.tasks()
        for task in flat_tasks:
            task.cancel()
        await asyncio.gather(*flat_tasks, return_exceptions=True)
        for stream in (self._private, self._trade):
            if stream is not None:
                await stream.close()
        if self._rest is not None:
            await self._rest.aclose()

    def readiness(self) -> tuple[bool, str]:
        if self.store_down_reason is not None:
            return False, f"failed closed: {self.store_down_reason}"
        if not self.synced.is_set():
            return False, "not reconciled with the venue"
        return True, "ok"


async def run(
    settings: ExecutorSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the executor until `stop` is set (or SIGTERM/SIGINT)."""
    await serve(ExecutorService(settings), settings, stop, ready)

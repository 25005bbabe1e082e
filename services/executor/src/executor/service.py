"""The executor's wiring: targets in, venue orders out, venue truth onto JetStream.

Start-up order matters: the durable layout, the venue's instruments, the trade stream, then the
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
from executor.commands import OperatorCommands, cancel_all
from executor.config_watch import ConfigWatch
from executor.fact_store import FactStore
from executor.fees import store_account_fees
from executor.flat_keeper import FlatKeeper
from executor.metrics import ExecutorMetrics
from executor.order_book_state import OrderBookState
from executor.order_sender import OrderEntry, OrderSender
from executor.reconcile import VenueRules
from executor.settings import ExecutorSettings
from executor.symbol_worker import SymbolWorker
from executor.venue_feed import VenueFeed
from executor.venue_links import arm_dcp, private_stream, rest_client, trade_stream
from executor.venue_sync import last_fill_time_ms, log_report, reconcile_symbol
from executor.watchdog import Watchdog
from mm_bybit.api import BybitRestApi
from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import BybitError
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_bybit.ws_private import PrivateStream
from mm_bybit.ws_trade import TradeStream
from mm_proto import (
    Heartbeat,
    InstrumentDefinition,
    OrderTarget,
    subjects,
)
from mm_runtime.control import ControlServer
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.tasks import OnEnd

_log = logging.getLogger("executor")

FIRST_SYNC_TIMEOUT_S = 20.0
HOUSEKEEPING_INTERVAL_S = 0.25
WATCHDOG_TICK_S = 0.05
LOCK_WAIT_S = 2.0  # how long a cancel-all waits for plans in flight before going ahead


class ExecutorService:
    """Single writer of orders for its symbols on one venue account."""

    name = "executor"

    def __init__(self, settings: ExecutorSettings) -> None:
        self.settings = settings
        self.ids = ClientIdFactory(settings.order_prefix, settings.instance_id)
        self.states = {symbol: OrderBookState(symbol) for symbol in settings.symbols}
        self.synced = asyncio.Event()
        self.watchdog = Watchdog(settings.watchdog_timeout_s, time.monotonic())
        self.workers: dict[str, SymbolWorker] = {}
        self.instruments: dict[str, InstrumentDefinition] = {}
        self._stopping = False
        self._resync_pending = False
        self.cancel_on_shutdown = settings.cancel_on_shutdown  # live: KV `config`
        self.config = ConfigWatch(self)
        self._runtime: Runtime | None = None
        self._api: BybitRestApi | None = None
        self._rest: RestClient | None = None
        self._private: PrivateStream | None = None
        self._trade: TradeStream | None = None
        self._feed: VenueFeed | None = None
        self._facts: FactStore | None = None
        self._flat = FlatKeeper(
            lambda: self.api, settings.venue.category, self.workers, self._must_stay_flat
        )
        self._metrics: ExecutorMetrics | None = None

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

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._metrics = ExecutorMetrics(runtime.registry)
        credentials = _credentials(self.settings)
        jetstream = runtime.bus.client.jetstream()
        await ensure_layout(jetstream, self.settings.nats.replicas)
        await self._connect_venue(credentials)
        await store_account_fees(
            self.api,
            jetstream,
            self.settings.venue_name,
            self.settings.venue.category,
            list(self.settings.symbols),
        )
        entry = self._order_entry(credentials)
        self._facts = FactStore(jetstream, self.metrics, self._on_store_down, self._on_store_up)
        self._feed = VenueFeed(
            jetstream,
            self.settings.venue_name,
            self.instruments,
            self.states,
            self.ids,
            self.metrics,
            self._on_order_change,
            self._on_resynced,
            self._facts,
        )
        self._build_workers(entry, runtime)
        tasks = runtime.tasks
        tasks.spawn("executor-feed", self._feed.run)  # restart: pushes wait in the feed's queue
        tasks.spawn("executor-facts", self._facts.run)
        await self._start_private_stream(credentials, jetstream)
        await self._subscribe(runtime)
        # Supervised (mm_runtime.tasks). A worker cut off mid-plan leaves its view of its orders
        # uncertain, so its end takes the process down: shutdown cancels everything at the venue
        # and a fresh start reconciles. The other loops keep their state outside the coroutine
        # and restart.
        for worker in self.workers.values():
            tasks.spawn(f"executor-worker-{worker.symbol}", worker.run, OnEnd.EXIT)
        tasks.spawn("executor-watchdog", self._watch_risk)
        tasks.spawn("executor-housekeeping", self._housekeeping)
        tasks.spawn("executor-heartbeat", self._heartbeats)
        tasks.spawn("executor-config", lambda: self.config.run(jetstream))
        await arm_dcp(self.api, self.settings.venue)
        try:
            await asyncio.wait_for(self.synced.wait(), FIRST_SYNC_TIMEOUT_S)
        except TimeoutError:
            _log.warning("no reconciliation with the venue yet; not acting until there is one")

    async def _connect_venue(self, credentials: ApiCredentials) -> None:
        """REST with the rate budget and breaker, and the instruments loaded from the venue."""
        self._rest = rest_client(self.settings.venue, credentials)
        self._api = BybitRestApi(self._rest)
        self.instruments = await load_instruments(
            self._api, self.settings.venue.category, self.settings.symbols
        )

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
                self.states[symbol],
                self.ids,
                self.metrics,
                max_attempts=self.settings.max_send_attempts,
                retry_delay_s=self.settings.retry_delay_s,
                use_batches=self.settings.venue.use_batches,
                tracer=runtime.telemetry.tracer,
                on_rejected=functools.partial(feed.on_rejected, symbol),
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
        self.watchdog.listening(time.monotonic())
        commands = OperatorCommands(self)
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
        for symbol, instrument in self.instruments.items():
            async with self.workers[symbol].lock:
                try:
                    report = await reconcile_symbol(
                        self.api,
                        self.states[symbol],
                        instrument,
                        self.ids,
                        self._feed,
                        self.settings.cancel_foreign_orders,
                    )
                except BybitError as error:
                    _log.warning("reconciliation failed", extra={"error": str(error)})
                    self._resync_pending = True  # stays unsynced; housekeeping tries again
                    return
            log_report(
                report,
                "private stream subscribed",
                self.settings.cancel_foreign_orders,
                self.metrics,
            )
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
        self._beat()
        worker.offer(target, context)

    async def on_risk_heartbeat(self, _beat: Heartbeat, _context: Context, _msg: Msg) -> None:
        self._beat()

    def _beat(self) -> None:
        if self.watchdog.beat(time.monotonic()):
            _log.info("risk heartbeat back; acting on targets again")
            for worker in self.workers.values():
                worker.wake()

    async def _watch_risk(self) -> None:
        """The watchdog on its own fast timer (a tenth of its timeout, at most 0.05 s apart)."""
        while True:
            await asyncio.sleep(min(WATCHDOG_TICK_S, self.watchdog.timeout_s / 10))
            now = time.monotonic()
            if self.watchdog.check(now):
                self.metrics.watchdog_trips.inc()
                _log.warning(
                    "risk silent; cancelling every order",
                    extra={"silence_s": round(self.watchdog.silence_s(now), 3)},
                )
                self._flat.start("watchdog")

    async def _housekeeping(self) -> None:
        """Resyncs and settling orders whose state stayed unknown."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            now = time.monotonic()
            self._retry_resync()
            for worker in self.workers.values():
                await worker.settle_unconfirmed(
                    self.api, now - self.settings.unconfirmed_query_after_s
                )
                self.metrics.open_orders.labels(worker.symbol).set(len(worker.state.orders))
            if self._rest is not None:
                for endpoint, ratio in self._rest.budget.headroom().items():
                    self.metrics.rate_headroom.labels(endpoint).set(ratio)

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
            await self._cancel_everything("shutdown")
            await self._await_cancel_pushes(2.0)
        if self._feed is not None:
            await self._feed.flush(1.0)
        if self._runtime is not None:
            await self._runtime.tasks.stop()
        flat_tasks = self._flat.tasks()
        for task in flat_tasks:
            task.cancel()
        await asyncio.gather(*flat_tasks, return_exceptions=True)
        for stream in (self._private, self._trade):
            if stream is not None:
                await stream.close()
        if self._rest is not None:
            await self._rest.aclose()

    async def _cancel_everything(self, reason: str) -> None:
        """Cancel-all at the venue once no plan is being sent (waiting at most a moment for one
        in flight), so nothing the workers send can land after it."""
        async with contextlib.AsyncExitStack() as held:
            deadline = time.monotonic() + LOCK_WAIT_S
            for worker in self.workers.values():
                try:
                    await asyncio.wait_for(
                        worker.lock.acquire(), max(0.0, deadline - time.monotonic())
                    )
                except TimeoutError:
                    _log.warning(
                        "cancel-all while a plan is in flight", extra={"symbol": worker.symbol}
                    )
                    continue
                held.callback(worker.lock.release)
            await cancel_all(self.api, self.settings.venue.category, list(self.states), reason)

    async def _await_cancel_pushes(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        # Polls: the orders leave through the feed's pushes, which signal nothing finer.
        while time.monotonic() < deadline and any(  # noqa: ASYNC110
            state.orders for state in self.states.values()
        ):
            await asyncio.sleep(0.02)

    def readiness(self) -> tuple[bool, str]:
        if self.store_down_reason is not None:
            return False, f"failed closed: {self.store_down_reason}"
        if not self.synced.is_set():
            return False, "not reconciled with the venue"
        return True, "ok"


def _credentials(settings: ExecutorSettings) -> ApiCredentials:
    venue = settings.venue
    return ApiCredentials(api_key=venue.api_key.get_secret_value(), api_secret=venue.api_secret)


async def run(
    settings: ExecutorSettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the executor until `stop` is set (or SIGTERM/SIGINT)."""
    await serve(ExecutorService(settings), settings, stop, ready)

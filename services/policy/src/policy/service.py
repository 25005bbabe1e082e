"""The policy's wiring: KPI rows, feed status and the halt in; decisions and quoter entries out.

The rules are pure (`policy.rules`, `policy.bounds`, `policy.allocator`, `policy.plan`); a round
is `policy.decider`. This module restores the journal from stream POLICY, follows its own live
bounds (`policy.params`), the KPI stream (new rows only: after a restart the policy holds until
the ledger's next snapshot), `md.status.*` and KV `risk` `halt`, answers `status` and the config
verbs, and runs a round every `evaluate_interval_s`. A round that fails is logged and counted and
the next one runs: the last written config stays in force whatever happens here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nats.aio.msg import Msg
from nats.js import api
from opentelemetry.context import Context

from mm_proto import (
    CtlReply,
    FeedStatus,
    HaltState,
    KpiSnapshot,
    Message,
    PolicyDecision,
    StatusRequest,
    subjects,
)
from mm_runtime import config_ctl
from mm_runtime.config_ctl import ConfigCommands
from mm_runtime.control import ControlServer, Dispatch
from mm_runtime.instruments import InstrumentFollower
from mm_runtime.jetstream import ensure_layout
from mm_runtime.lifecycle import Runtime, serve
from mm_runtime.live_config import LiveConfig
from mm_runtime.tasks import OnEnd
from policy import journal as journal_store
from policy.decider import Decider, Inputs
from policy.metrics import PolicyMetrics
from policy.params import SPEC
from policy.quoter_config import QuoterConfig
from policy.settings import PolicySettings
from policy.signals import FeedHealth, KpiWindow
from policy.status import describe

_log = logging.getLogger("policy.service")
SERVICE = "policy"


class PolicyService:
    """The policy on the runtime."""

    name = SERVICE

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self.config = LiveConfig(SPEC, settings.params, settings.symbols)
        self.kpi = KpiWindow(settings.params.markout_horizon)
        self.feed = FeedHealth()
        self._halt = ""
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # a halt came on: hold now, not at the next round
        self._started = False
        self._last_error = ""

    async def start(self, runtime: Runtime) -> None:
        settings, bus = self.settings, runtime.bus
        self.runtime = runtime
        self.metrics = PolicyMetrics(runtime.registry)
        js = bus.client.jetstream()
        await ensure_layout(js, settings.nats.replicas)
        journal = await journal_store.restore(
            js, settings.venue, settings.category, settings.restore_scan_limit
        )
        await config_ctl.follow(self.config, bus, settings.bind_retry_s)
        self.config.go_live()
        self.instruments = InstrumentFollower(
            bus, runtime.metrics, settings.venue, settings.category, retry_s=settings.bind_retry_s
        )
        await self.instruments.start()

        async def publish(decision: PolicyDecision) -> None:
            await journal_store.publish(js, decision)

        self.decider = Decider(
            settings.venue,
            settings.category,
            list(settings.symbols),
            self.config,
            QuoterConfig(bus.client, settings.ctl_timeout_s),
            journal,
            Inputs(self.kpi, self.feed, self.instruments.grids, lambda: self._halt),
            publish,
            self.metrics,
        )
        await self._follow(runtime)
        commands = ConfigCommands(self.config, bus)
        await ControlServer.of(SERVICE, self._dispatcher(commands)).start(bus.client)
        runtime.tasks.spawn("policy-rounds", self._rounds, OnEnd.EXIT)
        self._started = True
        _log.info("policy started", extra={"pending": len(journal.pending)})

    async def _follow(self, runtime: Runtime) -> None:
        settings, bus = self.settings, runtime.bus
        venue, category = settings.venue, settings.category
        bus.follow_stream(
            subjects.KPI_STREAM,
            subjects.kpi_pattern(venue, category),
            KpiSnapshot,
            self.on_kpi,
            deliver_policy=api.DeliverPolicy.NEW,
            retry_s=settings.bind_retry_s,
        )
        halt = bus.follow_kv(
            subjects.RISK_BUCKET,
            subjects.HALT_KEY,
            HaltState,
            self.on_halt,
            retry_s=settings.bind_retry_s,
            on_drop=self.on_unreadable_halt,
        )
        await bus.subscribe(
            subjects.feed_status_pattern(venue, category), FeedStatus, self.on_feed_status
        )
        await halt.loaded.wait()  # never a first round that has not seen the kill switch

    async def on_kpi(self, row: KpiSnapshot, _msg: Msg) -> None:
        if row.symbol in self.settings.symbols and not self.kpi.add(row):
            self.metrics.dropped.labels("not_finite").inc()
            _log.warning(
                "KPI row refused: a figure is not a finite decimal",
                extra={"symbol": row.symbol, "ts_end_ns": row.ts_end_ns},
            )

    async def on_halt(self, _key: str, state: HaltState | None) -> None:
        self._set_halt(f"{state.reason} (by {state.by})" if state and state.halted else "")

    async def on_unreadable_halt(self, _key: str, reason: str) -> None:
        self._set_halt(f"halt state unreadable ({reason}): taken as halted")

    def _set_halt(self, halt: str) -> None:
        if halt and not self._halt:
            self._wake.set()
        self._halt = halt

    async def on_feed_status(self, status: FeedStatus, _context: Context, _msg: Msg) -> None:
        self.feed.on_status(status, time.time_ns())

    async def _rounds(self) -> None:
        interval = self.settings.evaluate_interval_s
        while not self._stop.is_set():
            self._wake.clear()
            try:
                await self.decider.round()
                self.metrics.evaluations.labels("done").inc()
                self._last_error = ""
            except Exception as error:
                self.metrics.evaluations.labels("failed").inc()
                self._last_error = str(error)[:200]
                _log.exception("policy round failed; the config in force stays")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    def _dispatcher(self, commands: ConfigCommands) -> Dispatch:
        async def dispatch(request: Message) -> CtlReply:
            if isinstance(request, StatusRequest):
                data = {**describe(self.decider), **self.config.status()}
                return CtlReply(ok=True, message="status", data=data)
            return await commands.answer(request)

        return dispatch

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        await self.runtime.tasks.cancel("policy-rounds")
        await self.instruments.stop()

    def readiness(self) -> tuple[bool, str]:
        if not self._started:
            return False, "starting"
        if self._last_error:
            return True, f"last round failed: {self._last_error}"
        return True, "ok"


async def run(
    settings: PolicySettings,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the policy until `stop` is set (or a signal arrives)."""
    await serve(PolicyService(settings), settings, stop, ready)

"""One symbol's order loop: the newest target wins, one plan in flight at a time, after sync.

Targets arrive faster than the venue answers; only the newest matters, so a target that arrives
while a plan is being sent replaces any earlier one still waiting (coalescing saves venue calls).
While the symbol's feed is not live (`feed_guard`), every plan is against an empty ladder; a
quoting target derived from a book newer than the stale status lifts that.
"""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
from opentelemetry.context import Context

from executor.order_sender import OrderSender
from executor.own_orders import OwnOrders
from executor.planner import (
    Action,
    Create,
    TargetLevels,
    VenueRules,
    plan_unless_at_target,
    target_levels,
)
from executor.watchdog import Watchdog
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError
from mm_bybit.pushes import venue_order_from_raw
from mm_proto import OrderTarget
from mm_proto.quoting import ladder_changes
from mm_runtime.telemetry import untraced_tick

_log = logging.getLogger("executor.worker")


class SymbolWorker:
    """Plans and sends the actions that bring one symbol's orders to its newest target."""

    def __init__(
        self, sender: OrderSender, rules: VenueRules, synced: asyncio.Event, watchdog: Watchdog
    ) -> None:
        self.sender = sender
        self.own_orders: OwnOrders = sender.own_orders
        self.symbol = self.own_orders.symbol
        self.rules = rules
        self.synced = synced
        self.watchdog = watchdog
        self.lock = asyncio.Lock()
        self.stopping = False
        self.targets_applied = 0
        self._wake = asyncio.Event()
        self._target: OrderTarget | None = None
        self._context: Context | None = None
        self._previous: OrderTarget | None = None
        self.feed_stale_since_ns = 0  # when the feed left `live` (0: live)
        self._emptied: tuple[OrderTarget, OrderTarget] | None = None
        # The planner's reading of the target last stepped (it is planned again on every push).
        self._levels: tuple[OrderTarget, TargetLevels] | None = None

    def feed_stale(self, since_ns: int) -> None:
        """Plan only cancels until the feed is live again (`feed_live` or a newer target)."""
        self.feed_stale_since_ns = max(1, since_ns)
        self._wake.set()

    def feed_live(self) -> None:
        """Act on targets again; one held from before the stale period is not replayed."""
        if self._target is not None and self._target.ts_tick_ns <= self.feed_stale_since_ns:
            self._target = self._gated(self._target)
        self.feed_stale_since_ns = 0
        self._wake.set()

    def offer(self, target: OrderTarget, context: Context | None) -> None:
        """Make `target` the one to reach; wakes the loop."""
        self._target, self._context = target, context
        self._wake.set()

    def wake(self) -> None:
        """Plan again against the current target (an order filled, a sync finished)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.synced.wait()
            async with self.lock:
                # Checked under the lock: a watchdog trip, a fail-closed (unsynced) or shutdown
                # takes the lock before its cancel-all, so no plan can start after that cancel-all.
                if self.stopping or self.watchdog.tripped or not self.synced.is_set():
                    continue
                if not self.sender.may_write():  # lease mode: another replica's symbol
                    continue
                if self._target is not None:
                    await self.step(self._gated(self._target), self._context)

    def _gated(self, target: OrderTarget) -> OrderTarget:
        """`target`, or while the feed is stale an empty ladder in its place."""
        if not self.feed_stale_since_ns:
            return target
        if not target.cancel_all and target.ts_tick_ns > self.feed_stale_since_ns:
            self.feed_stale_since_ns = 0  # risk approved quotes on a book newer than the stale
            return target
        if target.cancel_all and not target.bids and not target.asks:
            return target
        if self._emptied is None or self._emptied[0] is not target:  # one per target: not fresh
            self._emptied = (
                target,
                msgspec.structs.replace(target, bids=[], asks=[], cancel_all=True, ts_tick_ns=0),
            )
        return self._emptied[1]

    async def step(self, target: OrderTarget, context: Context | None) -> None:
        """Plan against our current view and send the plan."""
        metrics = self.sender.metrics
        live = self.own_orders.live_orders()
        reduce_only = self.sender.reduce_only_ids
        reduce_only.intersection_update(order.client_order_id for order in live)
        instrument, levels = self.sender.instrument, self._levels_of(target)
        plan = plan_unless_at_target(live, target, instrument, levels, self.rules, reduce_only)
        if plan.refused_levels:
            metrics.refused_levels.inc(len(plan.refused_levels))
            _log.warning(
                "target levels refused",
                extra={"symbol": self.symbol, "reasons": plan.refused_levels[:5]},
            )
        fresh = self._previous is not target
        if fresh:
            metrics.changed_levels.inc(ladder_changes(self._previous, target))
            self._previous = target
            self.sender.refused_creates.clear()
        plan.actions = [action for action in plan.actions if not self._refused_before(action)]
        if plan.actions:
            lost = self.sender.lost_orders
            # A target re-planned after an order push is not a new tick: time only its first plan.
            await self.sender.execute(
                plan,
                context,
                target.ts_tick_ns if fresh else 0,
                traced=not untraced_tick(target.ts_tick_ns, context),
            )
            if self.sender.lost_orders != lost:
                self.wake()  # an order we meant to move was gone: plan its replacement now
        self.targets_applied += 1

    def _levels_of(self, target: OrderTarget) -> TargetLevels:
        if self._levels is None or self._levels[0] is not target:
            self._levels = (target, target_levels(target, self.sender.instrument))
        return self._levels[1]

    def _refused_before(self, action: Action) -> bool:
        """A create the venue already refused for this target is not retried on every push."""
        return isinstance(action, Create) and (
            (action.side, action.price_ticks, action.size_lots) in self.sender.refused_creates
        )

    async def settle_unconfirmed(self, api: BybitRestApi, before_s: float) -> None:
        """Ask the venue about orders whose last request's outcome stayed unknown."""
        instrument = self.sender.instrument
        for client_id in self.own_orders.unconfirmed_since(before_s):
            try:
                order = await api.order(instrument.category, instrument.symbol, client_id)
            except BybitError as error:
                _log.info(
                    "order query failed", extra={"client_order_id": client_id, "error": str(error)}
                )
                continue
            async with self.lock:
                if order is None:
                    self.own_orders.gone(client_id)
                else:
                    venue = venue_order_from_raw(order, instrument)
                    self.own_orders.apply_push(
                        venue, time.monotonic(), owned=True, authoritative=True
                    )
            self.wake()

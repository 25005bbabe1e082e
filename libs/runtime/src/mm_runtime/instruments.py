"""The one instrument follower: every service learns its instruments' grids here.

md_gateway reads the venue's instruments-info, stores each definition in KV `instruments` and
publishes it on `md.instrument.<venue>.<category>.<symbol>` (again whenever the venue changes it,
and periodically). `InstrumentFollower` follows both: the KV replay gives a service started late its
grids at once, the subject and the KV watch carry changes (a status going from "Trading" to
"Settling", a new tick size). A service reads `definitions` / `grids`, waits for its symbols with
`wait_for`, and is told of each change through `on_change`. md_gateway stores before it publishes,
so both paths carry the same sequence; should the KV watch deliver an older value after the
subject delivered a newer one, the next KV entry (the newer one) follows at once.

Bad input is a counted, logged drop in `mm_bus_messages_dropped_total`: an undecodable value (by
the bus or the KV follower, under their subscription label), and here, under `instruments` with a
reason, a definition for another venue or category, a KV key naming another symbol, or an absurd
grid (a step outside `MIN_STEP`..`MAX_STEP`, no symbol or status). The follower
then keeps the last good definition: a malformed message says nothing trustworthy about the
instrument, while the last good one still describes it; a real change (status included) arrives as
a valid definition. A symbol that never had a good definition has no grid, which is closed: the
quoter pulls (`no_instrument`), risk and the executor refuse to start past their wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import ROUND_CEILING, Decimal

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.context import Context
from pydantic import BaseModel, Field

from mm_proto import Grid, InstrumentDefinition, subjects
from mm_runtime.bus import Bus
from mm_runtime.followers import KvFollower
from mm_runtime.lifecycle import Runtime
from mm_runtime.logs import RateLimitedLog
from mm_runtime.metrics import RuntimeMetrics

_log = logging.getLogger("mm_runtime.instruments")

NAME = "instruments"  # the follower's label in the bus metrics
# Venues quote steps from 1e-8 (small coins' lots) to 1e3 (index ticks); far outside is garbage.
MIN_STEP = Decimal("1e-18")
MAX_STEP = Decimal("1e12")
_POLL_S = 0.05

OnChange = Callable[[InstrumentDefinition], Awaitable[None]]


async def _ignore(_definition: InstrumentDefinition) -> None:
    return None


class InstrumentFollower:
    """The latest good definition and grid of each instrument of one venue and category."""

    def __init__(
        self,
        bus: Bus,
        metrics: RuntimeMetrics,
        venue: str,
        category: str,
        on_change: OnChange = _ignore,
        *,
        retry_s: float = 1.0,
    ) -> None:
        self._bus, self._metrics = bus, metrics
        self.venue, self.category = venue, category
        self._on_change = on_change
        self._retry_s = retry_s
        self.definitions: dict[str, InstrumentDefinition] = {}
        self.grids: dict[str, Grid] = {}
        self._drop_log = RateLimitedLog(_log)
        self._kv: KvFollower[InstrumentDefinition] | None = None
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        """Follow the KV bucket and the subject; returns once the stored ones are replayed."""
        self._kv = self._bus.follow_kv(
            subjects.INSTRUMENT_BUCKET,
            subjects.instrument_key_pattern(self.venue, self.category),
            InstrumentDefinition,
            self._on_stored,
            retry_s=self._retry_s,
        )
        pattern = subjects.instrument_pattern(self.venue, self.category)
        self._subscription = await self._bus.subscribe(
            pattern, InstrumentDefinition, self._on_published
        )
        await self._kv.loaded.wait()

    async def stop(self) -> None:
        if self._kv is not None:
            await self._bus.unfollow(self._kv)
            self._kv = None
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def wait_for(self, symbols: Iterable[str], timeout_s: float) -> None:
        """Return once every symbol has a grid, or raise RuntimeError naming those without one."""
        wanted = list(symbols)
        deadline = time.monotonic() + timeout_s
        while missing := [symbol for symbol in wanted if symbol not in self.grids]:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"no instrument definition for {missing} after {timeout_s}s: "
                    "is md_gateway running for these symbols?"
                )
            await asyncio.sleep(_POLL_S)

    async def _on_stored(self, key: str, definition: InstrumentDefinition | None) -> None:
        if definition is None:
            return  # a deleted key: keep the last good grid (the venue did not delist it to us)
        expected = subjects.instrument_key(definition.venue, definition.category, definition.symbol)
        if key != expected:
            self._drop(key, "wrong_key", f"key {key} holds the definition of {expected}")
            return
        await self.take(definition, key)

    async def _on_published(
        self, definition: InstrumentDefinition, _context: Context, msg: Msg
    ) -> None:
        await self.take(definition, msg.subject)

    async def take(self, definition: InstrumentDefinition, where: str) -> None:
        """Keep `definition` if it is good and new; tell `on_change`; count and log a bad one."""
        problem = self._problem(definition)
        if problem is not None:
            self._drop(where, *problem)
            return
        if self.definitions.get(definition.symbol) == definition:
            return
        grid = definition.grid()
        self.definitions[definition.symbol] = definition
        self.grids[definition.symbol] = grid
        _log.info(
            "instrument definition",
            extra={"symbol": definition.symbol, "status": grid.status, "at": where},
        )
        await self._on_change(definition)

    def _problem(self, definition: InstrumentDefinition) -> tuple[str, str] | None:
        if (definition.venue, definition.category) != (self.venue, self.category):
            return "wrong_venue", f"for {definition.venue}/{definition.category}"
        if not definition.status or not definition.symbol:
            return "absurd", "no symbol or status"
        try:
            grid = definition.grid()
        except ValueError as error:
            return "absurd", str(error)
        for name, step in (("tick_size", grid.tick_size), ("lot_size", grid.lot_size)):
            if not MIN_STEP <= step <= MAX_STEP:
                return "absurd", f"{name} {step} outside {MIN_STEP}..{MAX_STEP}"
        return None

    def _drop(self, where: str, reason: str, detail: str) -> None:
        self._metrics.dropped.labels(NAME, reason).inc()
        self._drop_log.warning(
            f"{where}:{reason}",
            "dropped instrument definition, keeping the last good one",
            at=where,
            reason=reason,
            error=detail,
        )


async def wait_for_definitions(
    runtime: Runtime, venue: str, category: str, symbols: Iterable[str], timeout_s: float
) -> dict[str, InstrumentDefinition]:
    """The definitions of `symbols` once all are known (then no longer followed), or RuntimeError
    naming the missing ones after `timeout_s`: for a service whose grids are fixed at start."""
    wanted = list(symbols)
    follower = InstrumentFollower(runtime.bus, runtime.metrics, venue, category)
    await follower.start()
    try:
        await follower.wait_for(wanted, timeout_s)
    finally:
        await follower.stop()
    return {symbol: follower.definitions[symbol] for symbol in wanted}


class GridSettings(BaseModel):
    """A grid given in a service's settings (tests, or a venue without a gateway).

    Sizes are base coin and notional quote coin, as the venue writes them; `grid` turns them into
    the exact `Grid` (the minimum quantity rounded up to whole lots).
    """

    tick_size: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    min_qty: Decimal = Field(default=Decimal(0), ge=0)
    min_notional: Decimal = Field(default=Decimal(0), ge=0)
    quote_coin: str = "USDT"

    def grid(self, symbol: str) -> Grid:
        min_qty_lots = (self.min_qty / self.lot_size).to_integral_value(rounding=ROUND_CEILING)
        return Grid(
            symbol,
            self.tick_size,
            self.lot_size,
            min_qty_lots=int(min_qty_lots),
            min_notional=self.min_notional,
        )

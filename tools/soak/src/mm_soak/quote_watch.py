"""Watches the bus during a drill: when quoting resumes, and how long orders stayed live on a
stale or crossed book.

It listens (core NATS) to feed status, tops of book and the executor's order events, and keeps per
symbol the orders live at the venue (accepted and not yet cancelled, rejected or fully filled).
An exposure starts when a symbol's book turns stale or crossed while orders are live, and ends
when the book is good again or the last of those orders is gone, whichever is first. Times are
this process's receive times, so they include the bus hops (a conservative measure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mm_proto import (
    BookTop,
    FeedState,
    FeedStatus,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    decode,
    subjects,
)

VENUE, CATEGORY = "bybit", "linear"


@dataclass
class Exposure:
    """Orders live while a symbol's book was bad: why, from when, for how long."""

    symbol: str
    reason: str
    started_s: float
    ended_s: float | None = None

    @property
    def seconds(self) -> float:
        return (self.ended_s or time.monotonic()) - self.started_s


@dataclass
class SymbolWatch:
    live_orders: set[str] = field(default_factory=set)
    bad_reason: str = ""  # "" while the book is good
    exposure: Exposure | None = None


class QuoteWatch:
    """Records order acceptances and bad-book exposures while attached to a NATS client."""

    def __init__(self) -> None:
        self.symbols: dict[str, SymbolWatch] = {}
        self.exposures: list[Exposure] = []
        self.activity_at: list[float] = []  # receive times (monotonic) of accepts and amends
        self._subscriptions: list[Subscription] = []

    async def attach(self, client: Client) -> None:
        for family, handler in (
            ("feed_status", self._on_status),
            ("book", self._on_book),
            ("exec_order", self._on_order),
        ):
            pattern = subjects.fact_pattern(family, VENUE, CATEGORY)
            self._subscriptions.append(await client.subscribe(pattern, cb=handler))

    async def detach(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        now = time.monotonic()
        for watch in self.symbols.values():
            if watch.exposure is not None:
                watch.exposure.ended_s = now

    def first_activity_after(self, moment_s: float) -> float | None:
        """Seconds from `moment_s` to the first order accepted or amended after it (quoting
        again), None if none yet."""
        later = [at for at in self.activity_at if at >= moment_s]
        return min(later) - moment_s if later else None

    def longest_exposure(self, since_s: float = 0.0) -> Exposure | None:
        chosen = [exposure for exposure in self.exposures if exposure.started_s >= since_s]
        return max(chosen, key=lambda exposure: exposure.seconds, default=None)

    def _watch(self, symbol: str) -> SymbolWatch:
        return self.symbols.setdefault(symbol, SymbolWatch())

    async def _on_status(self, msg: Msg) -> None:
        status = decode(msg.data, FeedStatus)
        bad = "" if status.state is FeedState.LIVE else f"feed {status.state.value}"
        self._set_book_state(status.symbol, bad)

    async def _on_book(self, msg: Msg) -> None:
        top = decode(msg.data, BookTop)
        crossed = 0 < top.ask_price_ticks <= top.bid_price_ticks
        watch = self._watch(top.symbol)
        if crossed:
            self._set_book_state(top.symbol, "crossed book")
        elif watch.bad_reason == "crossed book":
            self._set_book_state(top.symbol, "")

    async def _on_order(self, msg: Msg) -> None:
        event = decode(msg.data, subjects.FACT_FAMILIES["exec_order"].message_type)
        watch = self._watch(event.symbol)
        if isinstance(event, OrderAccepted):
            watch.live_orders.add(event.client_order_id)
            self.activity_at.append(time.monotonic())
        elif isinstance(event, OrderAmended):
            self.activity_at.append(time.monotonic())
        elif isinstance(event, OrderCancelled | OrderRejected) or (
            isinstance(event, OrderFilled) and not event.partial
        ):
            watch.live_orders.discard(event.client_order_id)
        self._update_exposure(event.symbol)

    def _set_book_state(self, symbol: str, bad_reason: str) -> None:
        watch = self._watch(symbol)
        watch.bad_reason = bad_reason
        self._update_exposure(symbol)

    def _update_exposure(self, symbol: str) -> None:
        watch = self._watch(symbol)
        exposed = bool(watch.bad_reason and watch.live_orders)
        if exposed and watch.exposure is None:
            watch.exposure = Exposure(symbol, watch.bad_reason, time.monotonic())
            self.exposures.append(watch.exposure)
        elif not exposed and watch.exposure is not None:
            watch.exposure.ended_s = time.monotonic()
            watch.exposure = None

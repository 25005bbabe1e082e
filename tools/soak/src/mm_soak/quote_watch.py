"""Watches the bus during a drill: when quoting resumes, and how long orders stayed live on a
stale or crossed book, or on a book older than `BOOK_AGE_BOUND_S`.

It listens (core NATS) to feed status, tops of book and the executor's order events, and keeps per
symbol the orders live at the venue (accepted and not yet cancelled, rejected or fully filled).
An exposure starts when a symbol's book turns stale or crossed while orders are live, and ends
when the book is good again or the last of those orders is gone, whichever is first. Times are
this process's receive times, so they include the bus hops (a conservative measure), except that
an exposure ended by its last order leaving ends at the venue's time of that removal (the event's
`ts_event_ns`) when that came earlier: after a venue socket drop the executor cancels over REST at
once, but the cancel events reach the bus only once its private stream is back and reconciled.

A book is as old as the last top or depth message of its symbol (the gateway sends depth every
100 ms while it sees the venue). A clock (`BOOK_AGE_TICK_S`) opens an old-book exposure when a
symbol with live orders has had no book message for `BOOK_AGE_BOUND_S` (a frozen gateway sends
no status either), timed from the moment the book passed the bound. It ends when a book message
arrives or when the symbol's last live order left the venue, at the venue's time of that change
(the event's `ts_event_ns`): while the bus is frozen or restarting, the cancel that ended the
exposure reaches this process only once the bus is back, and its receive time would measure the
outage rather than the stack's reaction (the venue runs on this machine's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mm_proto import (
    BookDepth,
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
BOOK_AGE_BOUND_S = 1.0
BOOK_AGE_TICK_S = 0.05


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
    book_at: float | None = None  # receive time of the last top or depth message
    old_book: Exposure | None = None
    last_old_book: Exposure | None = None  # the most recent, to close at a late event's time
    gone_ns: int = 0  # venue time of the latest removal since the last acceptance
    book_wall_at: float | None = None  # wall-clock receive time of the last book message
    # Wall-clock [from, to] spans in which the book was older than the bound (closed ones).
    old_book_spans: list[tuple[float, float]] = field(default_factory=list)


class QuoteWatch:
    """Records order acceptances and bad-book exposures while attached to a NATS client."""

    def __init__(self) -> None:
        self.symbols: dict[str, SymbolWatch] = {}
        self.exposures: list[Exposure] = []
        self.old_book_exposures: list[Exposure] = []
        self._clock: asyncio.Task[None] | None = None
        self.activity_at: list[float] = []  # receive times (monotonic) of accepts and amends
        self._subscriptions: list[Subscription] = []
        self.client: Client | None = None  # the connection listened through

    async def attach(self, client: Client) -> None:
        await self._subscribe(client)
        self.client = client
        self._clock = asyncio.create_task(self._age_clock(), name="quote-watch-book-age")

    async def _subscribe(self, client: Client) -> None:
        for family, handler in (
            ("feed_status", self._on_status),
            ("book", self._on_book),
            ("depth", self._on_depth),
            ("exec_order", self._on_order),
        ):
            pattern = subjects.fact_pattern(family, VENUE, CATEGORY)
            self._subscriptions.append(await client.subscribe(pattern, cb=handler))

    async def move(self, client: Client) -> None:
        """Listen through `client` from now on, keeping what was seen (subscribed there first,
        so nothing falls between; an event heard twice meanwhile changes nothing judged)."""
        before, self._subscriptions = self._subscriptions, []
        await self._subscribe(client)
        for subscription in before:
            await subscription.unsubscribe()
        self.client = client

    async def detach(self) -> None:
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
            self._clock = None
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        now = time.monotonic()
        for watch in self.symbols.values():
            for exposure in (watch.exposure, watch.old_book):
                if exposure is not None:
                    exposure.ended_s = now

    def longest_old_book(self, since_s: float = 0.0) -> Exposure | None:
        """The longest time orders stayed live on a book older than `BOOK_AGE_BOUND_S`."""
        chosen = [e for e in self.old_book_exposures if (e.ended_s or time.monotonic()) >= since_s]
        return max(chosen, key=lambda exposure: exposure.seconds, default=None)

    def check_book_age(self, now: float) -> None:
        """Open or close old-book exposures as of `now` (the clock calls this)."""
        for symbol, watch in self.symbols.items():
            if watch.book_at is None:
                continue
            old_since = watch.book_at + BOOK_AGE_BOUND_S
            exposed = now >= old_since and bool(watch.live_orders)
            if exposed and watch.old_book is None:
                reason = f"book older than {BOOK_AGE_BOUND_S}s"
                watch.old_book = Exposure(symbol, reason, max(old_since, now - BOOK_AGE_TICK_S))
                watch.last_old_book = watch.old_book
                self.old_book_exposures.append(watch.old_book)
            elif not exposed and watch.old_book is not None:
                watch.old_book.ended_s = now
                watch.old_book = None

    async def _age_clock(self) -> None:
        while True:
            await asyncio.sleep(BOOK_AGE_TICK_S)
            self.check_book_age(time.monotonic())

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

    async def _on_depth(self, msg: Msg) -> None:
        depth = decode(msg.data, BookDepth)
        self._book_seen(depth.symbol)

    def old_book_spans(self, symbol: str, now_wall: float) -> list[tuple[float, float]]:
        """Wall-clock spans in which `symbol`'s book was older than `BOOK_AGE_BOUND_S` as this
        process saw it, whether or not orders were live (`mm_soak.venue_orders` judges those
        against the venue's own order history); one still open ends at `now_wall`."""
        watch = self._watch(symbol)
        spans = list(watch.old_book_spans)
        last = watch.book_wall_at
        if last is not None and now_wall - last > BOOK_AGE_BOUND_S:
            spans.append((last + BOOK_AGE_BOUND_S, now_wall))
        return spans

    def _book_seen(self, symbol: str) -> None:
        watch = self._watch(symbol)
        wall = time.time()
        last = watch.book_wall_at
        if last is not None and wall - last > BOOK_AGE_BOUND_S:
            watch.old_book_spans.append((last + BOOK_AGE_BOUND_S, wall))
        watch.book_wall_at = wall
        watch.book_at = time.monotonic()
        self.check_book_age(watch.book_at)

    async def _on_book(self, msg: Msg) -> None:
        top = decode(msg.data, BookTop)
        crossed = 0 < top.ask_price_ticks <= top.bid_price_ticks
        self._book_seen(top.symbol)
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
            watch.gone_ns = 0
            self.activity_at.append(time.monotonic())
        elif isinstance(event, OrderAmended):
            self.activity_at.append(time.monotonic())
        elif isinstance(event, OrderCancelled | OrderRejected) or (
            isinstance(event, OrderFilled) and not event.partial
        ):
            watch.live_orders.discard(event.client_order_id)
            watch.gone_ns = max(watch.gone_ns, event.ts_event_ns)
            if not watch.live_orders:
                self._close_old_book_at_venue_time(watch, watch.gone_ns)
        self._update_exposure(event.symbol, watch.gone_ns if not watch.live_orders else 0)
        self.check_book_age(time.monotonic())

    def _close_old_book_at_venue_time(self, watch: SymbolWatch, ts_event_ns: int) -> None:
        """The last order left the venue at `ts_event_ns` (wall clock): an old-book exposure
        still open then ends there, even if this process heard of it later."""
        exposure = watch.last_old_book
        if exposure is None:
            return
        now = time.monotonic()
        gone_s = now - max(0.0, (time.time_ns() - ts_event_ns) / 1e9)
        if exposure.ended_s is not None and exposure.ended_s <= gone_s:
            return  # it had ended before this order left
        exposure.ended_s = max(exposure.started_s, min(gone_s, now))
        if watch.old_book is exposure:
            watch.old_book = None
        watch.last_old_book = None

    def _set_book_state(self, symbol: str, bad_reason: str) -> None:
        watch = self._watch(symbol)
        watch.bad_reason = bad_reason
        self._update_exposure(symbol)

    def _update_exposure(self, symbol: str, gone_ns: int = 0) -> None:
        """Open or close `symbol`'s exposure; one closed by its last order leaving the venue
        ends at the venue's time of that (`gone_ns`, wall clock) if that came earlier."""
        watch = self._watch(symbol)
        exposed = bool(watch.bad_reason and watch.live_orders)
        if exposed and watch.exposure is None:
            watch.exposure = Exposure(symbol, watch.bad_reason, time.monotonic())
            self.exposures.append(watch.exposure)
        elif not exposed and watch.exposure is not None:
            now = time.monotonic()
            ended = now
            if gone_ns:
                gone_s = now - max(0.0, (time.time_ns() - gone_ns) / 1e9)
                ended = max(watch.exposure.started_s, min(gone_s, now))
            watch.exposure.ended_s = ended
            watch.exposure = None

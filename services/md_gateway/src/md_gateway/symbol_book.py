"""One symbol's Rust book and feed state, and the bus messages an applied frame turns into.

`apply` is the hot path: raw frame bytes go to the Rust book (parsed there, never in Python), the
outcome drives the feed state machine, and the caller publishes a book top only when the result
says `publishable`. A frame the book refuses leaves the book untouched and makes the symbol stale
until a fresh snapshot: the update it carried is lost, so the book can no longer be trusted.
"""

from __future__ import annotations

from typing import NamedTuple

from md_gateway.feed_state import StatusChange, SymbolFeed
from mm_orderbook import BookError, OrderBook, OutcomeKind
from mm_proto import BookDepth, BookTop, FeedStatus, InstrumentDefinition, subjects

_NS_PER_MS = 1_000_000
MARK_HEARTBEAT_NS = 1_000_000_000  # a mark at least this often (venue time) on a quiet mid
_APPLIED = OutcomeKind.Applied
_RESET = OutcomeKind.Reset
_GAP = OutcomeKind.Gap


class ApplyResult(NamedTuple):
    """What one frame did: whether to publish the book, and a status change if any.

    A NamedTuple rather than a dataclass: one is built per frame on the hot path.
    """

    publishable: bool
    update_id: int
    kind: str  # "applied", "reset", "gap", "stale" or "refused"
    change: StatusChange | None = None
    error: str = ""


class SymbolBook:
    """The book of one instrument on one depth topic, its feed state and its subjects."""

    def __init__(
        self,
        instrument: InstrumentDefinition,
        feed: SymbolFeed,
        depth: int,
        top_levels: int,
        depth_interval_s: float,
    ) -> None:
        self.instrument = instrument
        self.venue = instrument.venue
        self.category = instrument.category
        self.symbol = instrument.symbol
        self.feed = feed
        self.top_levels = top_levels
        # The book takes frames of its own topic only (another depth is refused) and keeps the
        # best `depth` levels a side.
        self.book = OrderBook(self.symbol, instrument.tick_size, instrument.lot_size, depth=depth)
        self.topic = self.book.topic
        self.book_subject = subjects.book(self.venue, self.category, self.symbol)
        self.mark_subject = subjects.mark(self.venue, self.category, self.symbol)
        self._mark_mid2 = 0
        self._mark_ts_ns = 0
        self.depth_subject = subjects.depth(self.venue, self.category, self.symbol)
        self.status_subject = subjects.feed_status(self.venue, self.category, self.symbol)
        self._depth_interval_ns = int(depth_interval_s * 1e9)
        self._next_depth_ns = 0

    def apply(self, payload: bytes, now_s: float) -> ApplyResult:
        """Apply one raw `orderbook.*` frame; never raises on bad input."""
        try:
            outcome = self.book.apply_frame(payload)
        except BookError as error:
            change = self.feed.invalidate(f"refused frame: {error}", now_s)
            return ApplyResult(False, self.feed.last_update_id, "refused", change, str(error))
        kind = outcome.kind
        update_id = outcome.update_id
        if kind == _APPLIED:
            change = self.feed.on_applied(update_id, now_s)
            return ApplyResult(self.feed.live, update_id, "applied", change)
        if kind == _RESET:
            change = self.feed.on_reset(update_id, now_s)
            return ApplyResult(self.feed.live, update_id, "reset", change)
        if kind == _GAP:
            change = self.feed.on_gap(outcome.expected_id, update_id, now_s)
            return ApplyResult(False, update_id, "gap", change)
        return ApplyResult(False, update_id, "stale")

    def top(self, update_id: int, received_ns: int) -> BookTop:
        """The best bid and ask now (0 price and size for an empty side)."""
        bid_price, bid_lots, ask_price, ask_lots, ts_exchange_ms = self.book.top()
        return BookTop(
            venue=self.venue,
            category=self.category,
            symbol=self.symbol,
            bid_price_ticks=bid_price,
            bid_size_lots=bid_lots,
            ask_price_ticks=ask_price,
            ask_size_lots=ask_lots,
            update_id=update_id,
            ts_exchange_ns=ts_exchange_ms * _NS_PER_MS,
            ts_gateway_ns=received_ns,
        )

    def mark_due(self, top: BookTop) -> bool:
        """True when `top` is a mark: its mid changed, or a second of venue time passed.

        Marks (stream MARKS) are the mid history the ledger replays after a restart; a top
        without a mid (an empty side, a crossed book) is never one.
        """
        bid, ask = top.bid_price_ticks, top.ask_price_ticks
        if bid <= 0 or ask <= bid:
            return False
        mid2, ts = bid + ask, top.ts_exchange_ns
        if mid2 == self._mark_mid2 and ts - self._mark_ts_ns < MARK_HEARTBEAT_NS:
            return False
        self._mark_mid2, self._mark_ts_ns = mid2, ts
        return True

    def depth_due(self, received_ns: int) -> bool:
        """True at most once per depth interval (every frame when the interval is 0)."""
        if received_ns < self._next_depth_ns:
            return False
        self._next_depth_ns = received_ns + self._depth_interval_ns
        return True

    def depth(self, update_id: int, received_ns: int) -> BookDepth:
        """The best `top_levels` levels per side."""
        bid_prices, bid_sizes, ask_prices, ask_sizes = self.book.top_levels(self.top_levels)
        return BookDepth(
            venue=self.venue,
            category=self.category,
            symbol=self.symbol,
            bid_prices_ticks=bid_prices,
            bid_sizes_lots=bid_sizes,
            ask_prices_ticks=ask_prices,
            ask_sizes_lots=ask_sizes,
            update_id=update_id,
            ts_exchange_ns=(self.book.ts_exchange_ms or 0) * _NS_PER_MS,
            ts_gateway_ns=received_ns,
        )

    def status(self, now_ns: int) -> FeedStatus:
        """The feed's current state as a message (for changes and the heartbeat)."""
        feed = self.feed
        return FeedStatus(
            venue=self.venue,
            category=self.category,
            symbol=self.symbol,
            state=feed.state,
            reason=feed.reason,
            last_update_id=feed.last_update_id,
            ts_event_ns=now_ns,
        )

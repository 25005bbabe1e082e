"""Market data facts the gateway publishes: top of book, depth, trades and feed health."""

import enum

from mm_proto.message import Message, PriceTicks, Side, SizeLots, TimestampNs, UpdateId


class FeedState(enum.Enum):
    """Whether a symbol's book can be trusted right now."""

    LIVE = "live"
    STALE = "stale"  # gap, disconnect or silence: consumers must not quote on it
    RESYNCING = "resyncing"  # a fresh snapshot is being applied


class BookTop(Message, frozen=True, kw_only=True, tag="book_top"):
    """Top of book for one instrument, as the gateway saw it (0 price and size: side empty)."""

    venue: str
    category: str
    symbol: str
    bid_price_ticks: PriceTicks
    bid_size_lots: SizeLots
    ask_price_ticks: PriceTicks
    ask_size_lots: SizeLots
    update_id: UpdateId
    ts_exchange_ns: TimestampNs  # venue's timestamp
    ts_gateway_ns: TimestampNs  # when md_gateway received the frame


class BookDepth(Message, frozen=True, kw_only=True, tag="book_depth"):
    """The best N levels per side, best first; prices and sizes are parallel arrays."""

    venue: str
    category: str
    symbol: str
    bid_prices_ticks: list[PriceTicks]
    bid_sizes_lots: list[SizeLots]
    ask_prices_ticks: list[PriceTicks]
    ask_sizes_lots: list[SizeLots]
    update_id: UpdateId
    ts_exchange_ns: TimestampNs
    ts_gateway_ns: TimestampNs


class Trade(Message, frozen=True, kw_only=True, tag="trade"):
    """One public trade print."""

    venue: str
    category: str
    symbol: str
    trade_id: str
    price_ticks: PriceTicks
    size_lots: SizeLots
    taker_side: Side
    ts_exchange_ns: TimestampNs
    ts_gateway_ns: TimestampNs


class FeedStatus(Message, frozen=True, kw_only=True, tag="feed_status"):
    """A change in a symbol's feed health; `reason` says why (e.g. "gap 1041->1043")."""

    venue: str
    category: str
    symbol: str
    state: FeedState
    reason: str
    last_update_id: UpdateId
    ts_event_ns: TimestampNs

"""The order path after risk: targets for the executor and its order, fill and position facts."""

from mm_proto.message import DEFAULT_COLOR, Color, Message, PriceTicks, Side, SizeLots, TimestampNs
from mm_proto.quoting import QuoteLevel


class OrderTarget(Message, frozen=True, kw_only=True, tag="order_target"):
    """The ladders risk approved; the executor reconciles live orders towards exactly these."""

    venue: str
    category: str
    symbol: str
    bids: list[QuoteLevel]
    asks: list[QuoteLevel]
    target_id: str
    intent_id: str  # the QuoteIntent this target was derived from
    cancel_all: bool = False  # cancel every order for the symbol (halt, stale feed)
    ts_target_ns: TimestampNs
    # The intent's ts_tick_ns, carried so the executor can measure tick-to-order (0: unknown).
    ts_tick_ns: TimestampNs = 0
    # Orders may only reduce the position (a flatten); the venue refuses or trims the rest.
    reduce_only: bool = False
    # How the orders rest: "post_only" (never take; the default) or "ioc" (take what is there up
    # to the price, cancel the rest). The venue's spelling lives in mm_bybit.
    time_in_force: str = "post_only"
    # The parameter set these orders belong to (a canary compares colors on the same market);
    # the executor writes it into each order's orderLinkId so it survives restarts.
    color: Color = DEFAULT_COLOR


class _OrderEventFields(Message, frozen=True, kw_only=True):
    """The fields every order event carries; never sent on its own."""

    venue: str
    category: str
    symbol: str
    client_order_id: str  # our orderLinkId
    venue_order_id: str  # the venue's orderId ("" when the venue never assigned one)
    side: Side
    price_ticks: PriceTicks
    size_lots: SizeLots  # the order's total size
    ts_event_ns: TimestampNs  # venue's time of the change
    color: Color = DEFAULT_COLOR  # decoded from the orderLinkId


class OrderAccepted(_OrderEventFields, frozen=True, kw_only=True, tag="order_accepted"):
    """The venue has the order resting on the book."""


class OrderAmended(_OrderEventFields, frozen=True, kw_only=True, tag="order_amended"):
    """The venue amended the order in place; price and size are the new values."""


class OrderCancelled(_OrderEventFields, frozen=True, kw_only=True, tag="order_cancelled"):
    """The order is gone without (further) fills."""

    reason: str  # the venue's cancelType or rejectReason, e.g. "EC_PostOnlyWillTakeLiquidity"


class OrderRejected(_OrderEventFields, frozen=True, kw_only=True, tag="order_rejected"):
    """The venue refused the order or the change to it."""

    reason: str  # the venue's rejectReason or retMsg


class OrderFilled(_OrderEventFields, frozen=True, kw_only=True, tag="order_filled"):
    """The order traded, fully or in part."""

    filled_lots: SizeLots  # cumulative
    leaves_lots: SizeLots
    partial: bool


OrderEvent = OrderAccepted | OrderAmended | OrderCancelled | OrderRejected | OrderFilled
"""Every order event, decodable as one tagged union."""


class Fill(Message, frozen=True, kw_only=True, tag="fill"):
    """One execution of one of our orders."""

    venue: str
    category: str
    symbol: str
    fill_id: str  # the venue's execId, unique per fill: the de-duplication key
    client_order_id: str
    venue_order_id: str
    side: Side
    price_ticks: PriceTicks
    size_lots: SizeLots
    fee: str  # decimal string in fee_currency; negative is a rebate
    fee_currency: str
    is_maker: bool
    ts_exchange_ns: TimestampNs
    ts_received_ns: TimestampNs
    color: Color = DEFAULT_COLOR  # the order's color, decoded from its orderLinkId
    # The venue's cross sequence of the match (Bybit's execution `seq`): comparable with a
    # Position's `seq` of the same symbol, monotonic but not contiguous, shared by fills that
    # matched at the same moment. None when the venue gave none (older facts, other venues).
    seq: int | None = None


class FundingSettlement(Message, frozen=True, kw_only=True, tag="funding_settlement"):
    """One funding settlement on a perpetual position (Bybit's execution with execType Funding).

    `fee` keeps the venue's sign: positive is funding we paid, negative funding we received.
    """

    venue: str
    category: str
    symbol: str
    funding_id: str  # the venue's execId: the de-duplication key
    position_lots: int  # signed position the funding was charged on: positive long
    funding_rate: str  # decimal string
    mark_price: str  # decimal string, the price the position value was taken at
    fee: str  # decimal string in fee_currency; negative is funding received
    fee_currency: str
    ts_exchange_ns: TimestampNs
    ts_received_ns: TimestampNs


class Position(Message, frozen=True, kw_only=True, tag="position"):
    """The venue's view of our position in one symbol."""

    venue: str
    category: str
    symbol: str
    size_lots: int  # signed: positive long, negative short
    entry_price: str  # decimal string; an average, so not necessarily on the tick grid
    realized_pnl: str  # decimal string, quote currency
    unrealized_pnl: str  # decimal string, quote currency
    ts_exchange_ns: TimestampNs
    # True when read from the venue at a reconciliation (executor start, stream resubscribe):
    # a baseline that replaces whatever earlier facts add up to, not a check against them.
    reconciled: bool = False
    # The venue's cross sequence of the position's last change (Bybit's position `seq`): the
    # position includes exactly the fills whose `seq` is at or below it; -1 when the symbol has
    # never traded; None when the venue gave none (older facts, other venues).
    seq: int | None = None
    # When the executor sent the read this baseline answers (its own clock; reconciled baselines
    # only). A fill received after it matched after the read, so a baseline with `seq` -1 (no
    # trade yet) does not include it, while a fill received before it belongs to an earlier life
    # of the venue. 0 on pushes and older baselines.
    ts_read_ns: TimestampNs = 0

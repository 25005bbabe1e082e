"""The venue's own message shapes as msgspec Structs: decimal strings stay strings.

Objects whose keys are camelCase spellings of the field names use `rename="camel"`; the rest
name their keys explicitly. Nothing here interprets a value; `convert` turns these into proto
types. Decoders run with `strict=False` because re-serialised captures quote some integers
("seq":"123"), and venue time fields come as strings in objects and as numbers in envelopes
(and occasionally inside objects).
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

Item = TypeVar("Item")
TimeField = str | int


class RestEnvelope(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """`{"retCode","retMsg","result","retExtInfo","time"}` around every REST answer."""

    ret_code: int
    ret_msg: str = ""
    result: msgspec.Raw = msgspec.Raw(b"null")
    ret_ext_info: msgspec.Raw = msgspec.Raw(b"null")
    time: int = 0


class Page(msgspec.Struct, Generic[Item], rename="camel", frozen=True, kw_only=True):
    """A `result` holding `list` and, for paginated endpoints, `nextPageCursor`."""

    items: list[Item] = msgspec.field(name="list", default_factory=list)
    next_page_cursor: str = ""
    category: str = ""


class PriceFilter(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    tick_size: str
    min_price: str = ""
    max_price: str = ""


class LotSizeFilter(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Derivatives fill qtyStep/minOrderQty/maxOrderQty; spot fills basePrecision/minOrderAmt."""

    qty_step: str = ""
    min_order_qty: str = ""
    max_order_qty: str = ""
    max_mkt_order_qty: str = ""
    min_notional_value: str = ""
    base_precision: str = ""
    quote_precision: str = ""
    min_order_amt: str = ""
    max_limit_order_qty: str = ""
    max_market_order_qty: str = ""
    post_only_max_limit_order_size: str = ""


class Instrument(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One item of GET /v5/market/instruments-info."""

    symbol: str
    status: str = ""
    base_coin: str = ""
    quote_coin: str = ""
    settle_coin: str = ""
    contract_type: str = ""
    price_filter: PriceFilter
    lot_size_filter: LotSizeFilter


class FeeRate(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One item of GET /v5/account/fee-rate."""

    symbol: str = ""
    base_coin: str = ""
    taker_fee_rate: str
    maker_fee_rate: str


class ServerTime(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    time_second: str
    time_nano: str = ""


class OrderbookSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """GET /v5/market/orderbook: `u` matches the WS depth-1000 stream's update id."""

    symbol: str = msgspec.field(name="s")
    bids: list[tuple[str, str]] = msgspec.field(name="b")
    asks: list[tuple[str, str]] = msgspec.field(name="a")
    ts: int = 0
    update_id: int = msgspec.field(name="u", default=0)
    seq: int = 0
    cts: int = 0


class RecentTrade(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One item of GET /v5/market/recent-trade (the taker's side)."""

    exec_id: str
    symbol: str
    price: str
    size: str
    side: str
    time: TimeField
    is_block_trade: bool = False
    seq: int = 0


class OrderAck(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The result of create/amend/cancel: an acknowledgement, not an outcome."""

    order_id: str = ""
    order_link_id: str = ""


class BatchItem(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    category: str = ""
    symbol: str = ""
    order_id: str = ""
    order_link_id: str = ""
    create_at: str = ""


class BatchStatus(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    msg: str = ""


class BatchStatusList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[BatchStatus] = msgspec.field(name="list", default_factory=list)


class Order(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """An order object, as on the `order` topic and in /v5/order/realtime|history."""

    category: str = ""
    symbol: str
    order_id: str
    order_link_id: str = ""
    side: str
    order_type: str = ""
    time_in_force: str = ""
    price: str = ""
    qty: str = ""
    order_status: str
    cancel_type: str = ""
    reject_reason: str = ""
    avg_price: str = ""
    leaves_qty: str = ""
    cum_exec_qty: str = ""
    cum_exec_value: str = ""
    cum_exec_fee: str = ""
    position_idx: int = 0
    reduce_only: bool = False
    create_type: str = ""
    market_unit: str = ""
    created_time: TimeField = ""
    updated_time: TimeField = ""


class Execution(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One execution, as on `execution`/`execution.fast` and in /v5/execution/list.

    `execution.fast` carries trades only and has no execType, hence the default.
    """

    category: str = ""
    symbol: str
    order_id: str
    order_link_id: str = ""
    side: str
    exec_id: str
    exec_price: str
    exec_qty: str
    exec_value: str = ""
    exec_fee: str = ""
    fee_rate: str = ""
    fee_currency: str = ""
    is_maker: bool = False
    exec_type: str = "Trade"
    exec_time: TimeField
    seq: int = 0
    order_price: str = ""
    order_qty: str = ""
    leaves_qty: str = ""
    order_type: str = ""


class Position(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A position: `entryPrice` on the WebSocket, `avgPrice` over REST."""

    category: str = ""
    symbol: str
    side: str = ""
    size: str
    position_idx: int = 0
    entry_price: str = ""
    avg_price: str = ""
    mark_price: str = ""
    unrealised_pnl: str = ""
    cur_realised_pnl: str = ""
    cum_realised_pnl: str = ""
    position_status: str = ""
    updated_time: TimeField = ""
    seq: int | None = None  # -1 when never traded; None when the venue sent none


class WalletCoin(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    coin: str
    equity: str = ""
    usd_value: str = ""
    wallet_balance: str = ""
    locked: str = ""
    unrealised_pnl: str = ""
    cum_realised_pnl: str = ""
    total_order_im: str = msgspec.field(name="totalOrderIM", default="")
    total_position_im: str = msgspec.field(name="totalPositionIM", default="")
    total_position_mm: str = msgspec.field(name="totalPositionMM", default="")


class Wallet(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """One account of the `wallet` topic or GET /v5/account/wallet-balance."""

    account_type: str = ""
    total_equity: str = ""
    total_wallet_balance: str = ""
    total_margin_balance: str = ""
    total_available_balance: str = ""
    total_perp_upl: str = msgspec.field(name="totalPerpUPL", default="")
    total_initial_margin: str = ""
    total_maintenance_margin: str = ""
    account_im_rate: str = msgspec.field(name="accountIMRate", default="")
    account_mm_rate: str = msgspec.field(name="accountMMRate", default="")
    coin: list[WalletCoin] = msgspec.field(default_factory=list)


class PrivateMessage(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A private-stream push: `data` is decoded according to `topic`."""

    topic: str
    id: str = ""
    creation_time: int = 0
    data: msgspec.Raw


class PublicTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One trade inside a `publicTrade.{symbol}` push; `S` is the taker's side."""

    time_ms: int = msgspec.field(name="T")
    symbol: str = msgspec.field(name="s")
    taker_side: str = msgspec.field(name="S")
    size: str = msgspec.field(name="v")
    price: str = msgspec.field(name="p")
    trade_id: str = msgspec.field(name="i")
    tick_direction: str = msgspec.field(name="L", default="")
    is_block_trade: bool = msgspec.field(name="BT", default=False)
    is_rpi_trade: bool = msgspec.field(name="RPI", default=False)
    seq: int = 0


class PublicTradeMessage(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    type: str = "snapshot"
    ts: int = 0
    data: list[PublicTrade]


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """The keys that tell any WebSocket frame apart: a push has `topic`, a reply has `op`."""

    topic: str = ""
    type: str = ""
    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    conn_id: str = ""
    req_id: str = ""


class TradeReply(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A reply on the trade WebSocket: REST-style keys, correlated by `reqId`."""

    req_id: str = ""
    ret_code: int = 0
    ret_msg: str = ""
    op: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    ret_ext_info: msgspec.Raw = msgspec.Raw(b"null")
    header: dict[str, str] = msgspec.field(default_factory=dict)
    conn_id: str = ""


def decoder(type_: type[Item]) -> msgspec.json.Decoder[Item]:
    """A lenient JSON decoder for one raw type (quoted integers accepted)."""
    return msgspec.json.Decoder(type_, strict=False)

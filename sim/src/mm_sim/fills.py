"""Applying one fill of one of our orders: fees, totals, position or balances, execution row."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mm_sim.accounts import Account
from mm_sim.closed_pnl import ClosingFill, book_fees_and_close
from mm_sim.orders import Order, plain


@dataclass(frozen=True)
class FillContext:
    """What a fill needs from the venue: time, sequence, fee rates, mark and an execution id."""

    now_ms: int
    seq: int
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    mark_price: Decimal
    exec_id: str
    leverage: Decimal = Decimal(10)


def apply_fill(
    account: Account,
    order: Order,
    price_ticks: int,
    lots: int,
    is_maker: bool,
    context: FillContext,
) -> dict[str, Any]:
    """Book a fill against the order and account; return the `execution` record."""
    instrument = order.instrument
    price = instrument.price(price_ticks)
    qty = instrument.qty(lots)
    value = price * qty
    fee_rate = context.maker_fee_rate if is_maker else context.taker_fee_rate
    order.cum_lots += lots
    order.cum_value += value
    order.updated_ms = context.now_ms
    order.status = "Filled" if order.cum_lots >= order.qty_lots else "PartiallyFilled"
    if instrument.category == "spot":
        fee, fee_coin, pnl, closed = _spot_fill(account, order, qty, value, fee_rate)
    else:
        fee, fee_coin, pnl, closed = _linear_fill(account, order, qty, value, fee_rate, context)
    order.cum_fee += fee
    order.closed_pnl += pnl
    record = execution_record(order, price_ticks, lots, value, is_maker, context)
    record |= {
        "execFee": plain(fee),
        "feeRate": plain(fee_rate),
        "feeCurrency": fee_coin,
        "execPnl": plain(pnl),
        "closedSize": instrument.qty_text(closed),
    }
    account.executions.append(record)
    return record


def execution_record(
    order: Order, price_ticks: int, lots: int, value: Decimal, is_maker: bool, context: FillContext
) -> dict[str, Any]:
    """The `execution` row of a fill, fee and PnL fields left for the caller."""
    instrument = order.instrument
    return {
        "category": instrument.category,
        "symbol": instrument.symbol,
        "orderId": order.order_id,
        "orderLinkId": order.order_link_id,
        "side": order.side,
        "orderPrice": instrument.price_text(order.price_ticks),
        "orderQty": instrument.qty_text(order.qty_lots),
        "leavesQty": instrument.qty_text(order.leaves_lots),
        "orderType": order.order_type,
        "stopOrderType": "UNKNOWN",
        "createType": "CreateByUser",
        "isLeverage": "0",
        "marketUnit": "",
        "execId": context.exec_id,
        "execPrice": instrument.price_text(price_ticks),
        "execQty": instrument.qty_text(lots),
        "execValue": plain(value),
        "isMaker": is_maker,
        "execType": "Trade",
        "execTime": str(context.now_ms),
        "seq": context.seq,
        "markPrice": plain(context.mark_price),
        "indexPrice": plain(context.mark_price),
        "underlyingPrice": "",
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "extraFees": [],
    }


def _linear_fill(
    account: Account,
    order: Order,
    qty: Decimal,
    value: Decimal,
    fee_rate: Decimal,
    context: FillContext,
) -> tuple[Decimal, str, Decimal, int]:
    instrument = order.instrument
    fee = value * fee_rate
    position = account.position(instrument, context.now_ms)
    before = abs(position.size)
    signed = qty if order.is_buy else -qty
    closing_qty = before if (position.size > 0) != order.is_buy and before else Decimal(0)
    closing_qty = min(closing_qty, qty)
    closing = ClosingFill(
        qty=qty,
        closed=closing_qty,
        size_before=before,
        entry_before=position.entry_price,
        price=value / qty,
        fee=fee,
        now_ms=context.now_ms,
        leverage=context.leverage,
    )
    pnl = position.apply_fill(signed, value / qty, fee)
    book_fees_and_close(account, order, closing)
    position.updated_ms = context.now_ms
    position.seq = context.seq
    coin = instrument.settle_coin
    account.credit(coin, pnl - fee)
    account.realise(coin, pnl - fee)
    closed_lots = int(closing_qty / instrument.qty_step)
    return fee, coin, pnl, closed_lots


def _spot_fill(
    account: Account, order: Order, qty: Decimal, value: Decimal, fee_rate: Decimal
) -> tuple[Decimal, str, Decimal, int]:
    config = order.instrument.config
    if order.is_buy:
        fee = qty * fee_rate
        account.credit(config.base_coin, qty - fee)
        account.credit(config.quote_coin, -value)
        return fee, config.base_coin, Decimal(0), 0
    fee = value * fee_rate
    account.credit(config.base_coin, -qty)
    account.credit(config.quote_coin, value - fee)
    return fee, config.quote_coin, Decimal(0), 0

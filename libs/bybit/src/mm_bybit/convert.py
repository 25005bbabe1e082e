"""Raw venue messages into proto types: decimal strings into ticks and lots via the instrument.

Every function here is pure. A value the instrument cannot represent (off the tick grid, not a
decimal, an unknown side) raises ConversionError naming the message, field and value, so callers
can count and drop it instead of publishing a silently wrong number.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TypedDict

import msgspec

from mm_bybit import raw
from mm_proto import (
    Fill,
    FundingSettlement,
    InstrumentDefinition,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    Position,
    Side,
    Trade,
)

VENUE = "bybit"
_NS_PER_MS = 1_000_000
# Bybit's side words and order statuses as the conversion reads them (the backtest's direct
# conversion, `mm_backtest.pushes`, reads the same).
SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}
FILLED_STATUSES = frozenset({"PartiallyFilled", "Filled"})
CANCELLED_STATUSES = frozenset({"Cancelled", "PartiallyFilledCanceled", "Deactivated"})
_PUBLIC_TRADES = raw.decoder(raw.PublicTradeMessage)
_NO_MAXIMUM_LOTS = 2**62


# The contract's time-in-force words (OrderTarget.time_in_force) and Bybit's spelling of each.
VENUE_TIME_IN_FORCE = {"post_only": "PostOnly", "ioc": "IOC"}


def venue_time_in_force(value: str) -> str:
    """Bybit's `timeInForce` for the contract's word, or ConversionError."""
    try:
        return VENUE_TIME_IN_FORCE[value]
    except KeyError:
        raise ConversionError(
            f"time_in_force must be one of {sorted(VENUE_TIME_IN_FORCE)}, was {value!r}"
        ) from None


class ConversionError(ValueError):
    """A venue message could not be expressed in proto types."""


def side_from_venue(text: str, *, where: str) -> Side:
    try:
        return SIDES[text]
    except KeyError:
        raise ConversionError(f"{where}: side must be 'Buy' or 'Sell', was {text!r}") from None


def ms_to_ns(value: str | int, *, where: str) -> int:
    """A venue millisecond time (string or number; "" means unknown, 0) in nanoseconds."""
    if value in ("", 0):
        return 0
    try:
        milliseconds = int(value)
    except ValueError:
        raise ConversionError(
            f"{where}: time must be integer milliseconds, was {value!r}"
        ) from None
    if milliseconds < 0:
        raise ConversionError(f"{where}: time must not be negative, was {value!r}")
    return milliseconds * _NS_PER_MS


def _ticks(instrument: InstrumentDefinition, text: str, *, where: str) -> int:
    try:
        return instrument.price_to_ticks(text)
    except ValueError as error:
        raise ConversionError(f"{where}: {error}") from None


def _lots(instrument: InstrumentDefinition, text: str, *, where: str) -> int:
    try:
        return instrument.qty_to_lots(text)
    except ValueError as error:
        raise ConversionError(f"{where}: {error}") from None


def _floor_lots(text: str, step: str, *, where: str) -> int:
    """Whole steps in a limit that may itself be off the grid (spot maxOrderQty often is)."""
    try:
        return int((Decimal(text) / Decimal(step)).to_integral_value(rounding=ROUND_FLOOR))
    except (InvalidOperation, ZeroDivisionError):
        raise ConversionError(f"{where}: expected a decimal on step {step}, was {text!r}") from None


def instrument_definition(item: raw.Instrument, category: str) -> InstrumentDefinition:
    """The trading grid of one instruments-info item (spot: basePrecision and minOrderAmt)."""
    where = f"instrument {item.symbol}"
    lots = item.lot_size_filter
    spot = category == "spot"
    lot_size = lots.base_precision if spot else lots.qty_step
    lot_size = lot_size or lots.qty_step or lots.base_precision
    tick_size = item.price_filter.tick_size
    if not lot_size or not tick_size:
        raise ConversionError(
            f"{where}: expected tickSize and a quantity step, received {tick_size!r}, {lot_size!r}"
        )
    max_text = (lots.max_limit_order_qty if spot else "") or lots.max_order_qty
    # Testnet lists some symbols with maxOrderQty "0": no maximum was given, not "never trade".
    max_lots = _floor_lots(max_text, lot_size, where=where) if max_text else 0
    min_notional = (lots.min_order_amt if spot else lots.min_notional_value) or "0"
    try:
        return InstrumentDefinition(
            venue=VENUE,
            category=category,
            symbol=item.symbol,
            base_coin=item.base_coin,
            quote_coin=item.quote_coin,
            status=item.status,
            tick_size=tick_size,
            lot_size=lot_size,
            min_qty_lots=max(1, _floor_lots(lots.min_order_qty or lot_size, lot_size, where=where)),
            max_qty_lots=max_lots or _NO_MAXIMUM_LOTS,
            min_notional=min_notional,
        )
    except ValueError as error:
        raise ConversionError(f"{where}: {error}") from None


def trades_from_message(
    payload: bytes,
    instruments: Mapping[str, InstrumentDefinition],
    ts_gateway_ns: int,
) -> list[Trade]:
    """The trades of one `publicTrade.{symbol}` push, in the venue's (match time) order."""
    try:
        message = _PUBLIC_TRADES.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:  # bad UTF-8 raises the latter
        raise ConversionError(f"publicTrade frame: {error}") from None
    trades = []
    for item in message.data:
        where = f"{message.topic} trade {item.trade_id}"
        instrument = instruments.get(item.symbol)
        if instrument is None:
            raise ConversionError(f"{where}: no instrument definition for {item.symbol!r}")
        trades.append(
            Trade(
                venue=VENUE,
                category=instrument.category,
                symbol=item.symbol,
                trade_id=item.trade_id,
                price_ticks=_ticks(instrument, item.price, where=where),
                size_lots=_lots(instrument, item.size, where=where),
                taker_side=side_from_venue(item.taker_side, where=where),
                ts_exchange_ns=ms_to_ns(item.time_ms, where=where),
                ts_gateway_ns=ts_gateway_ns,
            )
        )
    return trades


def _fee_currency(execution: raw.Execution, instrument: InstrumentDefinition) -> str:
    """Older linear pushes omit feeCurrency: linear settles in the quote coin, inverse in base."""
    if execution.fee_currency:
        return execution.fee_currency
    return instrument.base_coin if instrument.category == "inverse" else instrument.quote_coin


def fill_from_execution(
    execution: raw.Execution, instrument: InstrumentDefinition, ts_received_ns: int
) -> Fill:
    """One trade execution as a Fill; the fee keeps the venue's sign (negative is a rebate)."""
    where = f"execution {execution.exec_id}"
    if execution.exec_type != "Trade":
        raise ConversionError(
            f"{where}: only execType 'Trade' is a fill, was {execution.exec_type!r}"
        )
    return Fill(
        venue=VENUE,
        category=instrument.category,
        symbol=execution.symbol,
        fill_id=execution.exec_id,
        client_order_id=execution.order_link_id,
        venue_order_id=execution.order_id,
        side=side_from_venue(execution.side, where=where),
        price_ticks=_ticks(instrument, execution.exec_price, where=where),
        size_lots=_lots(instrument, execution.exec_qty, where=where),
        fee=execution.exec_fee or "0",
        fee_currency=_fee_currency(execution, instrument),
        is_maker=execution.is_maker,
        ts_exchange_ns=ms_to_ns(execution.exec_time, where=where),
        ts_received_ns=ts_received_ns,
        seq=execution.seq if execution.seq > 0 else None,  # absent (0): no ordering known
    )


def funding_from_execution(
    execution: raw.Execution, instrument: InstrumentDefinition, ts_received_ns: int
) -> FundingSettlement:
    """One funding execution (execType Funding) as a FundingSettlement.

    The row's side is the position's side (Buy: long), execQty its size, execPrice the mark and
    execFee the funding: positive paid, negative received, kept as the venue wrote it.
    """
    where = f"funding execution {execution.exec_id}"
    if execution.exec_type != "Funding":
        raise ConversionError(f"{where}: execType must be 'Funding', was {execution.exec_type!r}")
    side = side_from_venue(execution.side, where=where)
    size = _lots(instrument, execution.exec_qty, where=where)
    _decimal(execution.exec_fee or "0", where=f"{where} execFee")
    _decimal(execution.fee_rate or "0", where=f"{where} feeRate")
    return FundingSettlement(
        venue=VENUE,
        category=instrument.category,
        symbol=execution.symbol,
        funding_id=execution.exec_id,
        position_lots=size if side is Side.BUY else -size,
        funding_rate=execution.fee_rate or "0",
        mark_price=execution.exec_price,
        fee=execution.exec_fee or "0",
        fee_currency=_fee_currency(execution, instrument),
        ts_exchange_ns=ms_to_ns(execution.exec_time, where=where),
        ts_received_ns=ts_received_ns,
    )


def _decimal(text: str, *, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConversionError(f"{where}: must be a decimal string, was {text!r}") from None
    if not value.is_finite():
        raise ConversionError(f"{where}: must be a finite decimal, was {text!r}")
    return value


class OrderFields(TypedDict):
    """The fields every order event shares, already in the contract's terms."""

    venue: str
    category: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    side: Side
    price_ticks: int
    size_lots: int
    ts_event_ns: int


def _order_where(order: raw.Order) -> str:
    where = f"order {order.order_id} ({order.order_link_id or 'no link id'})"
    if order.market_unit == "quoteCoin":
        raise ConversionError(f"{where}: qty {order.qty} is in quote coin, not lots of the base")
    return where


def order_event_from_order(order: raw.Order, instrument: InstrumentDefinition) -> OrderEvent | None:
    """The event an order push stands for; None for conditional states this system never uses.

    The venue does not say whether a `New` push follows a create or an amend: this gives
    OrderAccepted, and the executor, which knows what it sent, reads it as an amend when due.
    """
    where = _order_where(order)
    common: OrderFields = {
        "venue": VENUE,
        "category": instrument.category,
        "symbol": order.symbol,
        "client_order_id": order.order_link_id,
        "venue_order_id": order.order_id,
        "side": side_from_venue(order.side, where=where),
        "price_ticks": _ticks(instrument, order.price or "0", where=where),
        "size_lots": _lots(instrument, order.qty or "0", where=where),
        "ts_event_ns": ms_to_ns(order.updated_time or order.created_time, where=where),
    }
    return order_event_of(order, instrument, common)


def order_event_of(
    order: raw.Order,
    instrument: InstrumentDefinition,
    common: OrderFields,
    filled_lots: int | None = None,
) -> OrderEvent | None:
    """The event of an order whose shared fields (and maybe filled lots) are converted already."""
    where = _order_where(order)
    status = order.order_status
    if status == "New":
        return OrderAccepted(**common)
    if status in FILLED_STATUSES:
        return OrderFilled(
            **common,
            filled_lots=_lots(instrument, order.cum_exec_qty or "0", where=where)
            if filled_lots is None
            else filled_lots,
            leaves_lots=_lots(instrument, order.leaves_qty or "0", where=where),
            partial=status == "PartiallyFilled",
        )
    if status in CANCELLED_STATUSES:
        return OrderCancelled(**common, reason=_reason(order))
    if status == "Rejected":
        return OrderRejected(**common, reason=_reason(order))
    if status in ("Untriggered", "Triggered"):
        return None
    raise ConversionError(f"{where}: unknown orderStatus {status!r}")


def _reason(order: raw.Order) -> str:
    return end_reason(order.order_status, order.cancel_type, order.reject_reason)


def end_reason(status: str, cancel_type: str, reject_reason: str) -> str:
    """Why an order ended: the cancel type (CancelByUser, CancelByDCP, ...) when the venue gives
    one, else the reject reason (a post-only kill is cancelType UNKNOWN with
    EC_PostOnlyWillTakeLiquidity; a user cancel also carries EC_PerCancelRequest, which says less).
    """
    if status != "Rejected" and cancel_type not in ("", "UNKNOWN"):
        return cancel_type
    if reject_reason not in ("", "EC_NoError"):
        return reject_reason
    return cancel_type or "UNKNOWN"


def position_from_raw(position: raw.Position, instrument: InstrumentDefinition) -> Position:
    """The venue's position with a signed size (short is negative)."""
    where = f"position {position.symbol}"
    size = _lots(instrument, position.size or "0", where=where)
    if position.side == "Sell":
        size = -size
    elif position.side not in ("Buy", "", "None") and size:
        raise ConversionError(f"{where}: side must be 'Buy', 'Sell' or '', was {position.side!r}")
    return Position(
        venue=VENUE,
        category=instrument.category,
        symbol=position.symbol,
        size_lots=size,
        entry_price=position.entry_price or position.avg_price or "0",
        realized_pnl=position.cum_realised_pnl or "0",
        unrealized_pnl=position.unrealised_pnl or "0",
        ts_exchange_ns=ms_to_ns(position.updated_time, where=where),
        seq=position.seq,
    )

"""Order entry shared by REST and the trade WebSocket: validate a request, run it on the engine.

Each method takes the caller's UID and the request's JSON object, raises `BybitError` with the
venue's retCode for a refusal, and returns the `result` object Bybit acknowledges with.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from mm_sim import errors
from mm_sim.book import BUY, SELL
from mm_sim.errors import BybitError, parameter_error
from mm_sim.exchange import Exchange, SymbolState
from mm_sim.orders import Order
from mm_sim.wallet import available_balance

ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = {"GTC", "IOC", "FOK", "PostOnly"}
MARKET_BAND = Decimal("0.05")


def text_field(params: dict[str, Any], name: str, required: bool = False) -> str:
    """A string field of the request; a missing required one is a 10001."""
    value = params.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise parameter_error(f"{name} must be a string, received {type(value).__name__}")
    if required and not value:
        raise parameter_error(f"{name} is required")
    return value


class OrderEntry:
    """create / amend / cancel / cancel-all against an `Exchange`, with Bybit's checks."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def resolve(self, params: dict[str, Any]) -> SymbolState:
        category = text_field(params, "category", required=True)
        if category not in ("linear", "spot"):
            raise parameter_error(f"category must be linear or spot, received {category}")
        symbol = text_field(params, "symbol", required=True)
        state = self.exchange.symbol(category, symbol)
        if state is None:
            raise BybitError(errors.PARAMETER_ERROR, f"params error: symbol invalid {symbol}")
        return state

    def create(self, uid: int, params: dict[str, Any]) -> dict[str, Any]:
        try:
            state = self.resolve(params)
            order = self._new_order(uid, state, params)
        finally:
            self.exchange.flush()
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def _new_order(self, uid: int, state: SymbolState, params: dict[str, Any]) -> Order:
        exchange = self.exchange
        instrument = state.instrument
        account = exchange.accounts[uid]
        side = text_field(params, "side", required=True)
        if side not in (BUY, SELL):
            raise parameter_error(f"side must be Buy or Sell, received {side}")
        order_type = text_field(params, "orderType", required=True)
        if order_type not in ("Limit", "Market"):
            raise parameter_error(f"orderType must be Limit or Market, received {order_type}")
        qty_lots = instrument.parse_qty(params.get("qty"))
        time_in_force = text_field(params, "timeInForce") or (
            "IOC" if order_type == "Market" else "GTC"
        )
        if time_in_force not in TIME_IN_FORCE:
            raise parameter_error(
                f"timeInForce must be one of {sorted(TIME_IN_FORCE)}, received {time_in_force}"
            )
        if order_type == "Market":
            time_in_force = "IOC"
            price_ticks = self._market_limit(state, side)
        else:
            price_ticks = instrument.parse_price(params.get("price"))
        position_idx = params.get("positionIdx", 0)
        if position_idx not in (0, "0", None):
            raise BybitError(errors.PARAMETER_ERROR, "position idx not match position mode")
        reduce_only = params.get("reduceOnly", False) in (True, "true")
        link_id = text_field(params, "orderLinkId")
        if link_id and not ORDER_LINK_ID.match(link_id):
            raise parameter_error(
                f"orderLinkId must be 1-36 of [A-Za-z0-9_-], received {link_id!r}"
            )
        if link_id and link_id in account.link_ids:
            code = (
                errors.SPOT_DUPLICATE_ORDER_LINK_ID
                if instrument.category == "spot"
                else errors.DUPLICATE_ORDER_LINK_ID
            )
            raise BybitError(code)
        notional = instrument.price(price_ticks) * instrument.qty(qty_lots)
        if notional < instrument.config.min_notional_value:
            raise BybitError(
                errors.NOTIONAL_TOO_SMALL,
                f"The order value must be at least {instrument.config.min_notional_value}",
            )
        active = sum(1 for o in account.open_orders() if o.instrument is instrument)
        if active >= exchange.settings.max_active_orders_per_symbol:
            raise BybitError(errors.TOO_MANY_ACTIVE_ORDERS)
        if reduce_only:
            self._check_reduce_only(uid, state, side, qty_lots)
        self._check_balance(uid, state, side, price_ticks, qty_lots, reduce_only)
        now = exchange.clock.now_ms()
        order = Order(
            order_id=exchange.new_id(),
            order_link_id=link_id,
            uid=uid,
            instrument=instrument,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            price_ticks=price_ticks,
            qty_lots=qty_lots,
            created_ms=now,
            updated_ms=now,
            reduce_only=reduce_only,
            last_price_on_created=instrument.price_text(state.last_price_ticks),
        )
        account.orders[order.order_id] = order
        if link_id:
            account.link_ids[link_id] = order.order_id
        self.match_or_rest(state, order)
        return order

    def _market_limit(self, state: SymbolState, side: str) -> int:
        best_bid, best_ask = state.model.best_prices()
        if side == BUY:
            return int(best_ask * (1 + MARKET_BAND))
        return max(1, int(best_bid * (1 - MARKET_BAND)))

    def _check_reduce_only(self, uid: int, state: SymbolState, side: str, qty_lots: int) -> None:
        position = self.exchange.accounts[uid].position(
            state.instrument, self.exchange.clock.now_ms()
        )
        if position.size == 0:
            raise BybitError(errors.REDUCE_ONLY_VIOLATION)
        if (position.size > 0) == (side == BUY):
            raise BybitError(
                errors.REDUCE_ONLY_VIOLATION,
                "reduce-only order has same side with current position",
            )

    def _check_balance(
        self, uid: int, state: SymbolState, side: str, price: int, lots: int, reduce_only: bool
    ) -> None:
        exchange = self.exchange
        instrument = state.instrument
        account = exchange.accounts[uid]
        config = instrument.config
        notional = instrument.price(price) * instrument.qty(lots)
        if instrument.category == "spot":
            coin, needed = (
                (config.quote_coin, notional)
                if side == BUY
                else (config.base_coin, instrument.qty(lots))
            )
            if account.balances.get(coin, Decimal(0)) < needed:
                raise BybitError(170131, "Insufficient balance.")
            return
        if reduce_only:
            return
        free = available_balance(
            account, exchange.marks(), exchange.settings.leverage, config.quote_coin
        )
        if notional / exchange.settings.leverage > free:
            raise BybitError(errors.INSUFFICIENT_AVAILABLE_BALANCE)

    def match_or_rest(self, state: SymbolState, order: Order, amended: bool = False) -> None:
        """Cross what the order can take, then rest, cancel or kill the rest per timeInForce."""
        exchange = self.exchange
        book = state.book
        opposite = SELL if order.is_buy else BUY
        best = book.best_market(opposite)
        crosses = best is not None and (
            best <= order.price_ticks if order.is_buy else best >= order.price_ticks
        )
        if order.time_in_force == "PostOnly" and crosses:
            self.finish(order, "Cancelled", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity")
            return
        if order.time_in_force == "FOK" and not self._fok_fillable(state, order):
            self.finish(order, "Cancelled", "UNKNOWN", "EC_NoImmediateQtyToFill")
            return
        fills = book.take(
            order.side, order.qty_lots - order.cum_lots, order.price_ticks, include_ours=False
        )
        for fill in fills:
            seq = exchange.next_seq(state)
            exchange.record_trade(state, order.side, fill.price_ticks, fill.lots, seq)
            exchange.fill_ours(state, order, fill.price_ticks, fill.lots, False, seq)
        if fills:
            exchange.book_changed(state)
        if order.cum_lots >= order.qty_lots:
            return
        if order.time_in_force in ("IOC", "FOK"):
            status = (
                "PartiallyFilledCanceled"
                if order.cum_lots and order.instrument.category == "spot"
                else "Cancelled"
            )
            reason = "EC_CancelForNoFullFill" if order.cum_lots else "EC_NoImmediateQtyToFill"
            self.finish(order, status, "UNKNOWN", reason)
            return
        book.rest(order)
        exchange.book_changed(state)
        if not fills or amended:
            exchange.emit_order(order)
        if order.instrument.category == "linear":
            exchange.emit_position(order.uid, order.instrument)

    def _fok_fillable(self, state: SymbolState, order: Order) -> bool:
        levels = state.book.market_side(SELL if order.is_buy else BUY)
        reachable = sum(
            lots
            for price, lots in levels.items()
            if (price <= order.price_ticks if order.is_buy else price >= order.price_ticks)
        )
        return reachable >= order.qty_lots

    def finish(self, order: Order, status: str, cancel_type: str, reason: str) -> None:
        state = self.exchange.symbols[(order.instrument.category, order.instrument.symbol)]
        state.book.remove(order)
        order.status = status
        order.cancel_type = cancel_type
        order.reject_reason = reason
        order.updated_ms = self.exchange.clock.now_ms()
        self.exchange.emit_order(order)
        self.exchange.book_changed(state)
        if order.instrument.category == "linear":
            self.exchange.emit_position(order.uid, order.instrument)

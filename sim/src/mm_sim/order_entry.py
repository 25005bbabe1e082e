"""Order entry shared by REST and the trade WebSocket: validate a request, run it on the engine.

Each method takes the caller's UID and the request's JSON object, raises `BybitError` with the
venue's retCode for a refusal, and returns the `result` object Bybit acknowledges with.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from mm_sim import errors
from mm_sim.book import BUY, SELL
from mm_sim.errors import BybitError, parameter_error
from mm_sim.exchange import Exchange, SymbolState
from mm_sim.order_request import OrderRequest, parse_order_request, text_field
from mm_sim.orders import Order
from mm_sim.price_band import PriceBands
from mm_sim.wallet import available_balance

MARKET_BAND = Decimal("0.05")


class OrderEntry:
    """create / amend / cancel / cancel-all against an `Exchange`, with Bybit's checks."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.bands = PriceBands(exchange)

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
            self.exchange.note_request(uid, "create", order)
        finally:
            self.exchange.flush()
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def _new_order(self, uid: int, state: SymbolState, params: dict[str, Any]) -> Order:
        exchange = self.exchange
        instrument = state.instrument
        request = parse_order_request(instrument, params)
        if request.price_ticks:
            price_ticks = self.bands.limit_price(state, request.side, request.price_ticks)
        else:
            price_ticks = self._market_limit(state, request.side)
        if request.quote_amount is not None:
            request = self._quote_to_base(state, request)
        request = self._check_admissible(uid, state, request, price_ticks)
        now = exchange.clock.now_ms()
        order = Order(
            order_id=exchange.new_id(),
            order_link_id=request.order_link_id,
            uid=uid,
            instrument=instrument,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            price_ticks=price_ticks,
            qty_lots=request.qty_lots,
            created_ms=now,
            updated_ms=now,
            reduce_only=request.reduce_only,
            last_price_on_created=instrument.price_text(state.last_price_ticks),
        )
        account = exchange.accounts[uid]
        account.orders[order.order_id] = order
        if order.order_link_id:
            account.link_ids[order.order_link_id] = order.order_id
        self.match_or_rest(state, order)
        return order

    def _quote_to_base(self, state: SymbolState, request: OrderRequest) -> OrderRequest:
        """Size a spot market Buy given in quote coin at the current best ask."""
        instrument = state.instrument
        best_ask = state.book.best_market(SELL) or state.model.best_prices()[1]
        amount = request.quote_amount or Decimal(0)
        lots = int(amount / instrument.price(best_ask) / instrument.qty_step)
        if instrument.qty(lots) < instrument.config.min_order_qty:
            raise BybitError(170136, f"Order quantity below the lower limit {lots} lots")
        return replace(request, qty_lots=lots)

    def _check_admissible(
        self, uid: int, state: SymbolState, request: OrderRequest, price_ticks: int
    ) -> OrderRequest:
        """Account refusals: duplicate link id, notional, open-order cap, reduce-only, margin;
        returns the request as it will rest (a reduce-only quantity trimmed to the position)."""
        instrument = state.instrument
        account = self.exchange.accounts[uid]
        if request.order_link_id and request.order_link_id in account.link_ids:
            spot = instrument.category == "spot"
            raise BybitError(
                errors.SPOT_DUPLICATE_ORDER_LINK_ID if spot else errors.DUPLICATE_ORDER_LINK_ID
            )
        notional = instrument.price(price_ticks) * instrument.qty(request.qty_lots)
        if notional < instrument.config.min_notional_value:
            raise BybitError(
                errors.NOTIONAL_TOO_SMALL,
                f"The order value must be at least {instrument.config.min_notional_value}, "
                f"received {notional}",
            )
        active = sum(1 for o in account.open_orders() if o.instrument is instrument)
        if active >= self.exchange.settings.max_active_orders_per_symbol:
            raise BybitError(errors.TOO_MANY_ACTIVE_ORDERS)
        if request.reduce_only:
            request = self._trim_reduce_only(uid, state, request)
        self._check_balance(
            uid, state, request.side, price_ticks, request.qty_lots, request.reduce_only
        )
        return request

    def _market_limit(self, state: SymbolState, side: str) -> int:
        """The protective limit a market order runs with: 5% through the opposite best."""
        model_bid, model_ask = state.model.best_prices()
        if side == BUY:
            best_ask = state.book.best_market(SELL) or model_ask
            return int(best_ask * (1 + MARKET_BAND))
        best_bid = state.book.best_market(BUY) or model_bid
        return max(1, int(best_bid * (1 - MARKET_BAND)))

    def _trim_reduce_only(
        self, uid: int, state: SymbolState, request: OrderRequest
    ) -> OrderRequest:
        """Refuse a reduce-only order that cannot reduce; trim its quantity to what the position
        has left after the account's other open reduce-only orders on that side (as Bybit does),
        so reduce-only orders together never reverse the position."""
        account = self.exchange.accounts[uid]
        position = account.position(state.instrument, self.exchange.clock.now_ms())
        if position.size == 0:
            raise BybitError(errors.REDUCE_ONLY_VIOLATION)
        if (position.size > 0) == (request.side == BUY):
            raise BybitError(
                errors.REDUCE_ONLY_VIOLATION,
                "reduce-only order has same side with current position",
            )
        held = sum(
            o.qty_lots - o.cum_lots
            for o in account.open_orders()
            if o.instrument is state.instrument and o.reduce_only and o.side == request.side
        )
        room = int(abs(position.size) / state.instrument.qty_step) - held
        if room <= 0:
            raise BybitError(errors.REDUCE_ONLY_VIOLATION, "Reduce-only rule not satisfied")
        return replace(request, qty_lots=min(request.qty_lots, room))

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
        leverage = account.leverage_of(
            (instrument.category, instrument.symbol), exchange.settings.leverage
        )
        if notional / leverage > free:
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
        seq = exchange.next_seq(state) if fills else 0  # one match: its fills share a seq
        for fill in fills:
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

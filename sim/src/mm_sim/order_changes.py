"""Amend, cancel and cancel-all of resting orders and the DCP mass cancel, with Bybit's refusals."""

from __future__ import annotations

from typing import Any

from mm_sim import errors
from mm_sim.errors import BybitError, parameter_error
from mm_sim.exchange import SymbolState
from mm_sim.order_entry import OrderEntry
from mm_sim.order_request import AMEND_CONDITIONAL_FIELDS, refuse_conditional, text_field
from mm_sim.orders import Order

AMEND_UNCHANGED = "The order remains unchanged as the parameters entered match the existing ones."


class OrderChanges:
    """Changes to existing orders; `entry` re-runs matching for an amended price."""

    def __init__(self, entry: OrderEntry) -> None:
        self.entry = entry
        self.exchange = entry.exchange

    def _find_open(
        self, uid: int, state: SymbolState, params: dict[str, Any], verb: str = "cancel"
    ) -> Order:
        order_id = text_field(params, "orderId")
        link_id = text_field(params, "orderLinkId")
        if not order_id and not link_id:
            raise parameter_error("orderId or orderLinkId is required")
        return self.find_open(uid, state, order_id, link_id, verb)

    def find_open(
        self, uid: int, state: SymbolState, order_id: str, link_id: str, verb: str = "cancel"
    ) -> Order:
        """The open order named by id (which wins) or link id, or the venue's not-found refusal."""
        order = self.exchange.accounts[uid].find(order_id, link_id)
        spot = state.instrument.category == "spot"
        if order is None or order.instrument is not state.instrument or not order.is_open:
            if spot:
                raise BybitError(errors.SPOT_ORDER_NOT_EXISTS)
            raise BybitError(errors.ORDER_NOT_EXISTS, f"order not exists or too late to {verb}")
        return order

    def amend(self, uid: int, params: dict[str, Any]) -> dict[str, Any]:
        try:
            state = self.entry.resolve(params)
            refuse_conditional(params, AMEND_CONDITIONAL_FIELDS)
            order = self._find_open(uid, state, params, "replace")
            self._amend(state, order, params)
            self.exchange.note_request(uid, "amend", order)
        finally:
            self.exchange.flush()
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def _amend(self, state: SymbolState, order: Order, params: dict[str, Any]) -> None:
        instrument = state.instrument
        qty_text = params.get("qty")
        price_text = params.get("price")
        new_qty = instrument.parse_qty(qty_text) if qty_text not in (None, "") else None
        new_price = instrument.parse_price(price_text) if price_text not in (None, "") else None
        self.amend_to(state, order, new_qty, new_price)

    def amend_to(
        self, state: SymbolState, order: Order, qty_lots: int | None, price_ticks: int | None
    ) -> None:
        """Amend an open order to a parsed quantity and limit price (None: unchanged); the
        request layers parse and look the order up first. The caller flushes the events."""
        new_qty = order.qty_lots if qty_lots is None else qty_lots
        new_price = order.price_ticks
        if price_ticks is not None:
            new_price = self.entry.bands.limit_price(state, order.side, price_ticks)
        if new_qty == order.qty_lots and new_price == order.price_ticks:
            raise BybitError(errors.PARAMETER_ERROR, AMEND_UNCHANGED)
        if new_qty <= order.cum_lots:
            raise BybitError(
                110064,
                "The modified contract quantity cannot be less than or equal to the filled "
                "quantity",
            )
        keeps_place = new_price == order.price_ticks and new_qty <= order.qty_lots
        order.updated_ms = self.exchange.clock.now_ms()
        if keeps_place:
            order.resting_lots -= order.qty_lots - new_qty
            order.qty_lots = new_qty
            self.exchange.book_changed(state)
            self.exchange.emit_order(order)
            self._emit_position(order)
            return
        state.book.remove(order)
        order.qty_lots = new_qty
        order.price_ticks = new_price
        self.exchange.book_changed(state)
        self.entry.match_or_rest(state, order, amended=True)

    def cancel(self, uid: int, params: dict[str, Any]) -> dict[str, Any]:
        try:
            state = self.entry.resolve(params)
            order = self._find_open(uid, state, params)
            self.finish_cancel(order, "CancelByUser")
        finally:
            self.exchange.flush()
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def finish_cancel(self, order: Order, cancel_type: str) -> None:
        """Cancel; a partly filled spot order ends `PartiallyFilledCanceled`, as on Bybit."""
        spot_partial = order.instrument.category == "spot" and order.cum_lots > 0
        status = "PartiallyFilledCanceled" if spot_partial else "Cancelled"
        self.entry.finish(order, status, cancel_type, "EC_PerCancelRequest")

    def cancel_all(self, uid: int, params: dict[str, Any]) -> dict[str, Any]:
        category = text_field(params, "category", required=True)
        symbol = text_field(params, "symbol")
        settle_coin = text_field(params, "settleCoin")
        base_coin = text_field(params, "baseCoin")
        if category not in ("linear", "spot"):
            raise parameter_error(f"category must be linear or spot, received {category}")
        if category == "linear" and not (symbol or settle_coin or base_coin):
            raise parameter_error("symbol, baseCoin or settleCoin is required for linear")
        if symbol and self.exchange.symbol(category, symbol) is None:
            raise parameter_error(f"symbol invalid {symbol}")
        try:
            cancelled = self.cancel_matching(
                uid, category, symbol, settle_coin, base_coin, "CancelByUser"
            )
        finally:
            self.exchange.flush()
        rows = [{"orderId": o.order_id, "orderLinkId": o.order_link_id} for o in cancelled]
        return {"list": rows, "success": "1"}

    def cancel_matching(
        self,
        uid: int,
        category: str,
        symbol: str,
        settle_coin: str,
        base_coin: str,
        cancel_type: str,
    ) -> list[Order]:
        """Cancel every open order of the account that matches the filters (empty = any)."""
        cancelled: list[Order] = []
        for order in self.exchange.accounts[uid].open_orders():
            config = order.instrument.config
            if category and config.category != category:
                continue
            if symbol and config.symbol != symbol:
                continue
            if settle_coin and config.quote_coin != settle_coin:
                continue
            if base_coin and config.base_coin != base_coin:
                continue
            self.finish_cancel(order, cancel_type)
            cancelled.append(order)
        return cancelled

    def dcp_cancel(self, uid: int) -> list[Order]:
        """Disconnect-cancel-all: every open derivatives order goes with `CancelByDCP`."""
        try:
            return self.cancel_matching(uid, "linear", "", "", "", "CancelByDCP")
        finally:
            self.exchange.flush()

    def _emit_position(self, order: Order) -> None:
        if order.instrument.category == "linear":
            self.exchange.emit_position(order.uid, order.instrument)

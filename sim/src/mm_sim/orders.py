"""The order record the simulator keeps per order, and its Bybit wire shape (all strings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mm_sim.instruments import Instrument

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})


@dataclass(eq=False)
class Order:
    """One of our orders; `resting_lots` and `queue_ahead_lots` are the book's bookkeeping."""

    order_id: str
    order_link_id: str
    uid: int
    instrument: Instrument
    side: str
    order_type: str
    time_in_force: str
    price_ticks: int
    qty_lots: int
    created_ms: int
    reduce_only: bool = False
    close_on_trigger: bool = False
    position_idx: int = 0
    status: str = "New"
    cancel_type: str = "UNKNOWN"
    reject_reason: str = "EC_NoError"
    cum_lots: int = 0
    cum_value: Decimal = Decimal(0)
    cum_fee: Decimal = Decimal(0)
    closed_pnl: Decimal = Decimal(0)
    updated_ms: int = 0
    resting_lots: int = 0
    queue_ahead_lots: int = 0
    last_price_on_created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def leaves_lots(self) -> int:
        return self.qty_lots - self.cum_lots if self.is_open else 0

    @property
    def is_buy(self) -> bool:
        return self.side == "Buy"

    def record(self) -> dict[str, Any]:
        """The order object as REST `/v5/order/realtime` and the private `order` topic carry it."""
        instrument = self.instrument
        leaves = self.leaves_lots
        avg_price = ""
        if self.cum_lots:
            avg = self.cum_value / instrument.qty(self.cum_lots)
            avg_price = plain(avg.quantize(instrument.tick_size / 1000))
        price = "0" if self.order_type == "Market" and not self.price_ticks else ""
        fee_coin = self._fee_coin()
        return {
            "category": instrument.category,
            "symbol": instrument.symbol,
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "parentOrderLinkId": "",
            "blockTradeId": "",
            "side": self.side,
            "orderType": self.order_type,
            "timeInForce": self.time_in_force,
            "price": instrument.price_text(self.price_ticks) if self.price_ticks else price,
            "qty": instrument.qty_text(self.qty_lots),
            "positionIdx": self.position_idx,
            "isLeverage": "" if instrument.category != "spot" else "0",
            "orderStatus": self.status,
            "createType": "CreateByUser",
            "cancelType": self.cancel_type,
            "rejectReason": self.reject_reason,
            "avgPrice": avg_price,
            "leavesQty": instrument.qty_text(leaves),
            "leavesValue": plain(instrument.price(self.price_ticks) * instrument.qty(leaves)),
            "cumExecQty": instrument.qty_text(self.cum_lots),
            "cumExecValue": plain(self.cum_value),
            "cumExecFee": plain(self.cum_fee),
            "cumFeeDetail": {fee_coin: plain(self.cum_fee)} if self.cum_lots else {},
            "closedPnl": plain(self.closed_pnl),
            "feeCurrency": "",
            "stopOrderType": "",
            "triggerPrice": "",
            "triggerBy": "",
            "triggerDirection": 0,
            "takeProfit": "",
            "stopLoss": "",
            "tpslMode": "",
            "tpLimitPrice": "",
            "slLimitPrice": "",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "ocoTriggerBy": "",
            "reduceOnly": self.reduce_only,
            "closeOnTrigger": self.close_on_trigger,
            "orderIv": "",
            "placeType": "",
            "marketUnit": "",
            "slippageToleranceType": "UNKNOWN",
            "slippageTolerance": "0",
            "lastPriceOnCreated": self.last_price_on_created,
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "rpiTakerAccess": False,
            "rpiMatchedQty": "0",
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms or self.created_ms),
        }

    def _fee_coin(self) -> str:
        config = self.instrument.config
        if config.category == "spot" and self.is_buy:
            return config.base_coin
        return config.quote_coin


def plain(value: Decimal) -> str:
    """A decimal as Bybit prints it: no exponent, no trailing zeros beyond what is needed."""
    if not value:  # any zero, signed or with an exponent, prints as "0" (the common case)
        return "0"
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text

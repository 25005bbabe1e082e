"""Parsing a create-order request into typed fields, refusing malformed ones with 10001."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from mm_sim import errors
from mm_sim.book import BUY, SELL
from mm_sim.errors import BybitError, parameter_error
from mm_sim.instruments import Instrument

ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = {"GTC", "IOC", "FOK", "PostOnly"}
# Conditional, TP/SL and other order features this venue does not run: refused, never dropped.
CREATE_CONDITIONAL_FIELDS = (
    "triggerPrice",
    "triggerDirection",
    "triggerBy",
    "takeProfit",
    "stopLoss",
    "tpTriggerBy",
    "slTriggerBy",
    "tpslMode",
    "tpOrderType",
    "slOrderType",
    "tpLimitPrice",
    "slLimitPrice",
    "orderIv",
    "mmp",
    "bboSideType",
    "bboLevel",
    "slippageToleranceType",
    "slippageTolerance",
)
AMEND_CONDITIONAL_FIELDS = (
    "triggerPrice",
    "triggerBy",
    "takeProfit",
    "stopLoss",
    "tpTriggerBy",
    "slTriggerBy",
    "tpslMode",
    "tpLimitPrice",
    "slLimitPrice",
    "orderIv",
)
UNSET = (None, "", False)
SPOT_QTY_TOO_SMALL = 170136
SPOT_QTY_TOO_PRECISE = 170137
SPOT_QTY_TOO_LARGE = 170135
SPOT_PRICE_TOO_PRECISE = 170134


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


def refuse_conditional(params: dict[str, Any], fields: tuple[str, ...]) -> None:
    """10001 for any conditional/TP-SL (or other unsupported) field of `fields` that is set."""
    for name in fields:
        value = params.get(name)
        if value not in UNSET and not (name in ("takeProfit", "stopLoss") and value == "0"):
            raise parameter_error(f"{name} is not supported by this simulator, received {value!r}")


def refuse_unsupported_flags(params: dict[str, Any]) -> None:
    """Flags whose non-default values ask for a feature this venue does not run."""
    unsupported = {
        "closeOnTrigger": params.get("closeOnTrigger") not in (None, False, "false"),
        "isLeverage": params.get("isLeverage") not in (None, 0, "0", ""),
        "smpType": params.get("smpType") not in (None, "", "None"),
        "orderFilter": params.get("orderFilter") not in (None, "", "Order"),
    }
    for name, refused in unsupported.items():
        if refused:
            raise parameter_error(
                f"{name} is not supported by this simulator, received {params.get(name)!r}"
            )


@dataclass(frozen=True)
class OrderRequest:
    """A syntactically valid create request; `price_ticks` is 0 for a market order."""

    side: str
    order_type: str
    time_in_force: str
    qty_lots: int
    price_ticks: int
    reduce_only: bool
    order_link_id: str
    quote_amount: Decimal | None = None


def parse_order_request(instrument: Instrument, params: dict[str, Any]) -> OrderRequest:
    side = text_field(params, "side", required=True)
    if side not in (BUY, SELL):
        raise parameter_error(f"side must be Buy or Sell, received {side}")
    order_type = text_field(params, "orderType", required=True)
    if order_type not in ("Limit", "Market"):
        raise parameter_error(f"orderType must be Limit or Market, received {order_type}")
    refuse_conditional(params, CREATE_CONDITIONAL_FIELDS)
    refuse_unsupported_flags(params)
    quote_amount = _spot_market_buy_quote(instrument, params, side, order_type)
    qty_lots = 0 if quote_amount is not None else _parse_qty(instrument, params.get("qty"))
    time_in_force = text_field(params, "timeInForce") or "GTC"
    if time_in_force not in TIME_IN_FORCE:
        raise parameter_error(
            f"timeInForce must be one of {sorted(TIME_IN_FORCE)}, received {time_in_force}"
        )
    price_ticks = 0
    if order_type == "Market":
        time_in_force = "IOC"
    else:
        price_ticks = _parse_price(instrument, params.get("price"))
    if params.get("positionIdx", 0) not in (0, "0", None):
        raise BybitError(errors.PARAMETER_ERROR, "position idx not match position mode")
    reduce_only = params.get("reduceOnly", False)
    if reduce_only not in (True, False, "true", "false"):
        raise parameter_error(f"reduceOnly must be a boolean, received {reduce_only!r}")
    link_id = text_field(params, "orderLinkId")
    if link_id and not ORDER_LINK_ID.match(link_id):
        raise parameter_error(f"orderLinkId must be 1-36 of [A-Za-z0-9_-], received {link_id!r}")
    return OrderRequest(
        side=side,
        order_type=order_type,
        time_in_force=time_in_force,
        qty_lots=qty_lots,
        price_ticks=price_ticks,
        reduce_only=reduce_only in (True, "true"),
        order_link_id=link_id,
        quote_amount=quote_amount,
    )


def _spot_market_buy_quote(
    instrument: Instrument, params: dict[str, Any], side: str, order_type: str
) -> Decimal | None:
    """A spot market Buy's `qty` is in the quote coin unless `marketUnit` is `baseCoin`."""
    if instrument.category != "spot" or order_type != "Market" or side != BUY:
        return None
    unit = text_field(params, "marketUnit") or "quoteCoin"
    if unit not in ("baseCoin", "quoteCoin"):
        raise parameter_error(f"marketUnit must be baseCoin or quoteCoin, received {unit}")
    if unit == "baseCoin":
        return None
    try:
        amount = Decimal(str(params.get("qty")))
    except InvalidOperation:
        raise parameter_error(
            f"qty must be a decimal string, received {params.get('qty')!r}"
        ) from None
    if not amount.is_finite() or amount < instrument.config.min_notional_value:
        raise BybitError(
            170140, f"Order value exceeded lower limit: {instrument.config.min_notional_value}"
        )
    return amount


def _parse_qty(instrument: Instrument, text: object) -> int:
    """Spot answers its own codes (170136/170137/170135); derivatives answer 10001."""
    if instrument.category == "spot":
        check_spot_qty(instrument, text)
    return instrument.parse_qty(text)


def _parse_price(instrument: Instrument, text: object) -> int:
    if instrument.category == "spot" and _has_more_decimals(text, instrument.tick_size):
        raise BybitError(SPOT_PRICE_TOO_PRECISE, "Order price decimal too long.")
    return instrument.parse_price(text)


def check_spot_qty(instrument: Instrument, text: object) -> None:
    """Spot quantity refusals with Bybit's spot codes, before the generic parse."""
    value = _decimal_or_none(text)
    if value is None:
        return
    if _has_more_decimals(text, instrument.qty_step):
        raise BybitError(SPOT_QTY_TOO_PRECISE, "Order volume decimal too long")
    if value < instrument.config.min_order_qty:
        raise BybitError(SPOT_QTY_TOO_SMALL, "Order quantity lower than the minimum.")
    if value > instrument.config.max_order_qty:
        raise BybitError(SPOT_QTY_TOO_LARGE, "Order quantity too large.")


def _decimal_or_none(text: object) -> Decimal | None:
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _has_more_decimals(text: object, step: Decimal) -> bool:
    value = _decimal_or_none(text)
    return value is not None and value % step != 0

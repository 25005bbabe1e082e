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
    quote_amount = _spot_market_buy_quote(instrument, params, side, order_type)
    qty_lots = 0 if quote_amount is not None else instrument.parse_qty(params.get("qty"))
    time_in_force = text_field(params, "timeInForce") or "GTC"
    if time_in_force not in TIME_IN_FORCE:
        raise parameter_error(
            f"timeInForce must be one of {sorted(TIME_IN_FORCE)}, received {time_in_force}"
        )
    price_ticks = 0
    if order_type == "Market":
        time_in_force = "IOC"
    else:
        price_ticks = instrument.parse_price(params.get("price"))
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

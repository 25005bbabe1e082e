"""Instrument specs: tick and lot arithmetic, wire formatting and the instruments-info rows."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mm_sim.errors import parameter_error
from mm_sim.settings import InstrumentConfig

MAX_PRICE_TICKS = 10**12
# riskParameters (priceLimitRatioX, priceLimitRatioY) per category, as instruments-info shows them.
PRICE_LIMIT_RATIOS = {
    "linear": (Decimal("0.01"), Decimal("0.02")),
    "spot": (Decimal("0.05"), Decimal("0.05")),
}
CACHE_LIMIT = 200_000
# instruments-info `status` values (linear; spot uses Trading too). Only "Trading" takes orders.
STATUSES = ("PreLaunch", "Trading", "Delivering", "Closed")


@dataclass
class Listing:
    """What the venue says about trading the instrument now; changed by the admin API."""

    status: str = "Trading"


@dataclass(frozen=True)
class Instrument:
    """One symbol in one category; prices are integer ticks and sizes integer lots in the sim."""

    config: InstrumentConfig
    price_texts: dict[int, str] = field(default_factory=dict, compare=False, repr=False)
    qty_texts: dict[int, str] = field(default_factory=dict, compare=False, repr=False)
    listing: Listing = field(default_factory=Listing, compare=False, repr=False)

    @property
    def category(self) -> str:
        return self.config.category

    @property
    def symbol(self) -> str:
        return self.config.symbol

    @property
    def symbol_id(self) -> int:
        """A stable small integer per symbol (Bybit's `symbolId`)."""
        return zlib.crc32(self.symbol.encode()) % 100_000

    @property
    def tick_size(self) -> Decimal:
        return self.config.tick_size

    @property
    def qty_step(self) -> Decimal:
        return self.config.qty_step

    @property
    def settle_coin(self) -> str:
        return self.config.quote_coin

    def price_text(self, ticks: int) -> str:
        """`ticks` as Bybit prints the price (tick-size decimals); memoised, prices repeat."""
        cache = self.price_texts
        text = cache.get(ticks)
        if text is None:
            text = format((self.config.tick_size * ticks).quantize(self.config.tick_size), "f")
            if len(cache) < CACHE_LIMIT:
                cache[ticks] = text
        return text

    def qty_text(self, lots: int) -> str:
        """`lots` as Bybit prints the size (qty-step decimals); memoised."""
        cache = self.qty_texts
        text = cache.get(lots)
        if text is None:
            text = format((self.config.qty_step * lots).quantize(self.config.qty_step), "f")
            if len(cache) < CACHE_LIMIT:
                cache[lots] = text
        return text

    def price(self, ticks: int) -> Decimal:
        return self.tick_size * ticks

    def qty(self, lots: int) -> Decimal:
        return self.qty_step * lots

    def parse_price(self, text: object) -> int:
        """Parse a price string into ticks; refuse non-numbers, non-positive and off-tick values."""
        value = _decimal(text, "price")
        ticks = value / self.tick_size
        if value <= 0 or ticks != ticks.to_integral_value() or ticks > MAX_PRICE_TICKS:
            raise parameter_error(
                f"price {text} must be a positive multiple of tickSize {self.tick_size}"
            )
        return int(ticks)

    def parse_qty(self, text: object) -> int:
        """Parse a quantity string into lots within [minOrderQty, maxOrderQty] on the qtyStep."""
        value = _decimal(text, "qty")
        lots = value / self.qty_step
        if lots != lots.to_integral_value():
            raise parameter_error(f"qty {text} must be a multiple of qtyStep {self.qty_step}")
        if value < self.config.min_order_qty or value > self.config.max_order_qty:
            raise parameter_error(
                f"qty {text} must be within [{self.config.min_order_qty}, "
                f"{self.config.max_order_qty}]"
            )
        return int(lots)

    def info_row(self) -> dict[str, Any]:
        """The instruments-info list item, shaped per category as Bybit returns it."""
        config = self.config
        if config.category == "spot":
            return {
                "symbolId": self.symbol_id,
                "symbol": config.symbol,
                "symbolType": "",
                "baseCoin": config.base_coin,
                "quoteCoin": config.quote_coin,
                "innovation": "0",
                "status": self.listing.status,
                "marginTrading": "utaOnly",
                "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": _text(config.qty_step),
                    "quotePrecision": "0.00000001",
                    "minOrderQty": _text(config.min_order_qty),
                    "maxOrderQty": _text(config.max_order_qty),
                    "minOrderAmt": _text(config.min_notional_value),
                    "maxOrderAmt": "4000000",
                    "maxLimitOrderQty": _text(config.max_order_qty),
                    "maxMarketOrderQty": _text(config.max_order_qty),
                    "postOnlyMaxLimitOrderSize": _text(config.max_order_qty * 5),
                },
                "priceFilter": {"tickSize": _text(config.tick_size)},
                "riskParameters": _risk_parameters("spot"),
            }
        return {
            "symbol": config.symbol,
            "symbolId": self.symbol_id,
            "contractType": "LinearPerpetual",
            "status": self.listing.status,
            "baseCoin": config.base_coin,
            "quoteCoin": config.quote_coin,
            "launchTime": "1585526400000",
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": str(-config.tick_size.as_tuple().exponent),  # type: ignore[operator]
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {
                "minPrice": _text(config.tick_size),
                "maxPrice": "1999999.80",
                "tickSize": _text(config.tick_size),
            },
            "lotSizeFilter": {
                "maxOrderQty": _text(config.max_order_qty),
                "minOrderQty": _text(config.min_order_qty),
                "qtyStep": _text(config.qty_step),
                "postOnlyMaxOrderQty": _text(config.max_order_qty),
                "maxMktOrderQty": _text(config.max_order_qty),
                "minNotionalValue": _text(config.min_notional_value),
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
            "settleCoin": config.quote_coin,
            "copyTrading": "both",
            "upperFundingRate": "0.00375",
            "lowerFundingRate": "-0.00375",
            "isPreListing": False,
            "preListingInfo": None,
            "riskParameters": _risk_parameters("linear"),
            "symbolType": "",
        }


def _decimal(text: object, name: str) -> Decimal:
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        raise parameter_error(f"{name} must be a decimal string, received {text!r}")
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise parameter_error(f"{name} must be a decimal string, received {text!r}") from None
    if not value.is_finite():
        raise parameter_error(f"{name} must be finite, received {text!r}")
    return value


def _text(value: Decimal) -> str:
    """A config decimal as written (never in exponent notation)."""
    return format(value, "f")


def _risk_parameters(category: str) -> dict[str, str]:
    ratio_x, ratio_y = PRICE_LIMIT_RATIOS[category]
    return {"priceLimitRatioX": _text(ratio_x), "priceLimitRatioY": _text(ratio_y)}

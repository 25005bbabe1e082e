"""The order price band: how far through the mark (index) price a limit order may be priced.

Bybit's rule, with x = priceLimitRatioX and y = priceLimitRatioY of the instrument:
- futures: max buy = min(max(index, mark * (1 + x)), mark * (1 + y)), min sell mirrored; a limit
  price beyond it is moved to the bound (the default `lpaPerp=false` behaviour);
- spot: max buy = min(max(index, index * (1 + x) + premium), index * (1 + y)), min sell mirrored;
  a price beyond it is refused with 170193 (buy) or 170194 (sell).
Here index = mark = the market model's mid and the premium is 0.
"""

from __future__ import annotations

import math
from decimal import Decimal

from mm_sim.book import BUY
from mm_sim.errors import BybitError
from mm_sim.exchange import Exchange, SymbolState
from mm_sim.instruments import PRICE_LIMIT_RATIOS, Instrument

SPOT_BUY_TOO_HIGH = 170193
SPOT_SELL_TOO_LOW = 170194


class PriceBands:
    """Applies the band to a limit price in ticks: clamps (linear) or refuses (spot)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        # The last bounds per symbol with the best prices the mark was taken from (the mark is
        # their mid): the mark moves far less often than orders arrive, and the Decimal
        # arithmetic is most of an order's check.
        self._last: dict[tuple[str, str], tuple[Instrument, tuple[int, int], tuple[int, int]]] = {}

    def bounds(self, state: SymbolState) -> tuple[int, int]:
        """(lowest sell, highest buy) in ticks for the symbol now."""
        instrument = state.instrument
        key = (instrument.category, instrument.symbol)
        best = state.model.best_prices()
        last = self._last.get(key)
        if last is not None and last[0] is instrument and last[1] == best:
            return last[2]
        bounds = _bounds(instrument, self.exchange.mark_price(key))
        self._last[key] = (instrument, best, bounds)
        return bounds

    def limit_price(self, state: SymbolState, side: str, ticks: int) -> int:
        lowest, highest = self.bounds(state)
        instrument = state.instrument
        if instrument.category == "spot":
            if side == BUY and ticks > highest:
                limit = instrument.price_text(highest)
                raise BybitError(
                    SPOT_BUY_TOO_HIGH, f"Buy order price cannot be higher than {limit}."
                )
            if side != BUY and ticks < lowest:
                limit = instrument.price_text(lowest)
                raise BybitError(
                    SPOT_SELL_TOO_LOW, f"Sell order price cannot be lower than {limit}."
                )
            return ticks
        return min(ticks, highest) if side == BUY else max(ticks, lowest)


def _bounds(instrument: Instrument, mark: Decimal) -> tuple[int, int]:
    ratio_x, ratio_y = PRICE_LIMIT_RATIOS[instrument.category]
    index = mark
    highest = min(max(index, mark * (1 + ratio_x)), mark * (1 + ratio_y))
    lowest = max(min(index, mark * (1 - ratio_x)), mark * (1 - ratio_y))
    tick = instrument.tick_size
    return max(1, math.ceil(lowest / tick)), math.floor(highest / tick)

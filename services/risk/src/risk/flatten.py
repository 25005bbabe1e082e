"""Manual flatten (`ctl.risk.flatten`): reduce one symbol's position to zero, allowed while halted.

Only risk-reducing orders: one reduce-only order on the side that reduces, sized to the position.
Post-only at our side's touch by default (it never takes); with `max_slippage_bps` above zero an
IOC order priced at most that many basis points through the mid (it takes what is there within
the band and cancels the rest). While a symbol is flattening, every target risk would publish for
it (a halt's cancel-all, a quote) is replaced by the flatten target, re-priced as the touch and
the position move (at most once per `REPRICE_INTERVAL_NS`); it ends when the position is zero.
`plan_flatten` is pure; `Flattener` keeps which symbols are flattening.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mm_proto.quoting import Ladder, QuoteLevel
from risk.engine import Target
from risk.verdicts import MarketView

MAX_SLIPPAGE_BPS = 500
REPRICE_INTERVAL_NS = 500_000_000
FLATTEN_INTENT = "flatten"


def plan_flatten(
    symbol: str, position_lots: int, market: MarketView | None, max_slippage_bps: int
) -> Target | str:
    """The flatten target for a position, or why there is none."""
    if not 0 <= max_slippage_bps <= MAX_SLIPPAGE_BPS:
        return f"max slippage must be 0..{MAX_SLIPPAGE_BPS} bps, was {max_slippage_bps}"
    if position_lots == 0:
        return f"{symbol} is flat; nothing to flatten"
    if market is None or not market.live:
        return f"no live book for {symbol}; cannot price a flatten order"
    selling = position_lots > 0
    if max_slippage_bps == 0:
        price = market.ask_price_ticks if selling else market.bid_price_ticks
    else:
        band = float(market.mid_price_ticks) * max_slippage_bps / 10_000
        mid = float(market.mid_price_ticks)
        price = math.ceil(mid - band) if selling else math.floor(mid + band)
    level = (QuoteLevel(price_ticks=max(1, price), size_lots=abs(position_lots)),)
    ladder = Ladder(asks=level) if selling else Ladder(bids=level)
    time_in_force = "post_only" if max_slippage_bps == 0 else "ioc"
    return Target(symbol, ladder, FLATTEN_INTENT, reduce_only=True, time_in_force=time_in_force)


@dataclass
class _Flattening:
    max_slippage_bps: int
    last: Target | None = None
    last_ns: int = 0


class Flattener:
    """The symbols being flattened and the target each last got."""

    def __init__(self) -> None:
        self._active: dict[str, _Flattening] = {}

    def active(self, symbol: str) -> bool:
        return symbol in self._active

    def start(self, symbol: str, max_slippage_bps: int) -> None:
        self._active[symbol] = _Flattening(max_slippage_bps)

    def stop(self, symbol: str) -> None:
        self._active.pop(symbol, None)

    def next_target(
        self, symbol: str, position_lots: int, market: MarketView | None, now_ns: int
    ) -> Target | str | None:
        """The flatten target to publish now; None when the last one still stands (or was
        sent too recently); a reason when the flatten ended or cannot be priced."""
        state = self._active[symbol]
        planned = plan_flatten(symbol, position_lots, market, state.max_slippage_bps)
        if isinstance(planned, str):
            return planned
        if planned == state.last or now_ns - state.last_ns < REPRICE_INTERVAL_NS:
            return None
        state.last, state.last_ns = planned, now_ns
        return planned

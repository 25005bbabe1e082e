"""Fair value from the top of book, an online volatility estimate and a trade-flow imbalance signal.

Prices here are floats in ticks (the instrument's tick size is irrelevant to ratios and returns).
Both estimators decay with elapsed time rather than per event, so a burst of updates in one
millisecond does not wash out the last minute: the weight of an observation halves every
`horizon_s * ln 2` seconds whatever the update rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

NANOS_PER_SECOND = 1_000_000_000

FairValueSource = Literal["mid", "microprice"]


@dataclass(frozen=True, slots=True)
class Touch:
    """Best bid and ask of one instrument in integer ticks and lots, with the venue's update id."""

    bid_price_ticks: int
    bid_size_lots: int
    ask_price_ticks: int
    ask_size_lots: int
    update_id: int
    ts_ns: int

    def problem(self) -> str:
        """Why this touch cannot be priced from ("" when it can)."""
        if self.bid_price_ticks <= 0 or self.ask_price_ticks <= 0:
            return (
                f"prices must be positive ticks, were bid {self.bid_price_ticks} "
                f"ask {self.ask_price_ticks}"
            )
        if self.bid_price_ticks >= self.ask_price_ticks:
            return (
                f"bid must be below ask, was bid {self.bid_price_ticks} ask {self.ask_price_ticks}"
            )
        if self.bid_size_lots < 0 or self.ask_size_lots < 0:
            return (
                f"sizes must be non-negative lots, were bid {self.bid_size_lots} "
                f"ask {self.ask_size_lots}"
            )
        return ""


def mid_price(touch: Touch) -> float:
    """The arithmetic mid in ticks."""
    return (touch.bid_price_ticks + touch.ask_price_ticks) / 2.0


def microprice(touch: Touch) -> float:
    """The size-weighted mid: leans towards the side with less size (the one about to be taken)."""
    total = touch.bid_size_lots + touch.ask_size_lots
    if total == 0:
        return mid_price(touch)
    return (
        touch.bid_price_ticks * touch.ask_size_lots + touch.ask_price_ticks * touch.bid_size_lots
    ) / total


def fair_price(touch: Touch, source: FairValueSource) -> float:
    """Fair value in ticks by the configured source."""
    return microprice(touch) if source == "microprice" else mid_price(touch)


class VolatilityEstimator:
    """Realised variance of log returns per second, as time-decayed sums of r² over elapsed time.

    `variance_per_second = sum w*r² / sum w*dt` with weights `exp(-age / horizon_s)`. Dividing by
    decayed elapsed time (not by a count) keeps the estimate a rate, so same-timestamp updates add
    their return without pretending time passed.
    """

    def __init__(self, horizon_s: float) -> None:
        if not horizon_s > 0:
            raise ValueError(f"volatility horizon must be > 0 s, was {horizon_s}")
        self.horizon_s = horizon_s
        self._last_price = 0.0
        self._last_ns = 0
        self._squared_returns = 0.0
        self._elapsed_s = 0.0

    def update(self, price: float, ts_ns: int) -> None:
        """Add one positive price (ticks) at `ts_ns`; out-of-order times are ignored."""
        if not (price > 0 and math.isfinite(price)):
            return
        if self._last_ns == 0:
            self._last_price, self._last_ns = price, ts_ns
            return
        if ts_ns < self._last_ns:
            return
        dt_s = (ts_ns - self._last_ns) / NANOS_PER_SECOND
        decay = math.exp(-dt_s / self.horizon_s)
        log_return = math.log(price / self._last_price)
        self._squared_returns = self._squared_returns * decay + log_return * log_return
        self._elapsed_s = self._elapsed_s * decay + dt_s
        self._last_price, self._last_ns = price, ts_ns

    @property
    def ready(self) -> bool:
        """True once the estimate covers at least a tenth of the horizon."""
        return self._elapsed_s >= 0.1 * self.horizon_s

    def variance_per_second(self) -> float:
        """Estimated variance of log returns per second (0 before any elapsed time)."""
        if self._elapsed_s <= 0:
            return 0.0
        return self._squared_returns / self._elapsed_s

    def sigma(self, over_s: float) -> float:
        """Standard deviation of the log return over `over_s` seconds (a fraction of price)."""
        return math.sqrt(self.variance_per_second() * max(over_s, 0.0))


class TradeFlowImbalance:
    """Time-decayed (buy volume - sell volume) / total volume of taker trades, in [-1, 1]."""

    def __init__(self, horizon_s: float) -> None:
        if not horizon_s > 0:
            raise ValueError(f"trade-flow horizon must be > 0 s, was {horizon_s}")
        self.horizon_s = horizon_s
        self._buy = 0.0
        self._sell = 0.0
        self._last_ns = 0

    def _decay_to(self, ts_ns: int) -> None:
        if self._last_ns and ts_ns > self._last_ns:
            decay = math.exp(-(ts_ns - self._last_ns) / NANOS_PER_SECOND / self.horizon_s)
            self._buy *= decay
            self._sell *= decay
        self._last_ns = max(self._last_ns, ts_ns)

    def update(self, taker_buys: bool, size_lots: int, ts_ns: int) -> None:
        """Add one trade: the taker side and its size in lots (non-positive sizes are ignored)."""
        if size_lots <= 0:
            return
        self._decay_to(ts_ns)
        if taker_buys:
            self._buy += size_lots
        else:
            self._sell += size_lots

    def imbalance(self, now_ns: int) -> float:
        """Signed share of buying in recent flow: +1 all buys, -1 all sells, 0 balanced or none."""
        self._decay_to(now_ns)
        total = self._buy + self._sell
        if total <= 0:
            return 0.0
        return (self._buy - self._sell) / total

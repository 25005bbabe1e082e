"""Where to quote: inventory-skewed reservation price, the half-spread rule, post-only snapping.

Prices are float ticks inside the math and integer ticks on the way out. The reservation price
is Avellaneda-Stoikov's `r = s - q*gamma*sigma^2*tau` in price terms (q in base units, sigma^2 the
variance of the price per second, tau the horizon in seconds), capped at `max_skew_bps` of the fair
value so a volatility spike cannot throw quotes across the book. The half-spread is the largest of
the minimum spread, `k_vola * sigma_tau` and the fee floor; the fee floor is the maker fee per unit
(a positive fee must be earned back on each side) and never less than one tick (a rebate lets us
quote one tick from the reservation price, never tighter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mm_proto import Grid

BPS = 1e-4
# Float noise guard for floor/ceil of float prices (and notionals) that are exact in decimal.
SNAP_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class SkewInputs:
    """What the inventory skew depends on."""

    inventory_lots: int
    risk_aversion: float
    variance_per_second: float
    horizon_s: float
    max_skew_bps: float


def reservation_price(fair_ticks: float, skew: SkewInputs, grid: Grid) -> float:
    """Fair value shifted against inventory: long positions lower it (sell sooner, buy later)."""
    tick_size = float(grid.tick_size)
    price = fair_ticks * tick_size
    variance_price = skew.variance_per_second * price * price
    inventory = skew.inventory_lots * float(grid.lot_size)  # base coin
    shift_ticks = inventory * skew.risk_aversion * variance_price * skew.horizon_s
    shift_ticks /= tick_size
    cap = skew.max_skew_bps * BPS * fair_ticks
    return fair_ticks - max(-cap, min(cap, shift_ticks))


def fee_floor_ticks(fair_ticks: float, maker_fee_rate: float) -> float:
    """The smallest half-spread that pays the maker fee; one tick when the fee is a rebate."""
    return max(1.0, maker_fee_rate * fair_ticks)


def half_spread_ticks(
    fair_ticks: float,
    min_spread_bps: float,
    k_vola_spread: float,
    sigma_horizon: float,
    maker_fee_rate: float,
) -> float:
    """max(min_spread_bps, k_vola * sigma, fee floor) in ticks from the reservation price."""
    minimum = min_spread_bps * BPS * fair_ticks
    volatility = k_vola_spread * sigma_horizon * fair_ticks
    return max(minimum, volatility, fee_floor_ticks(fair_ticks, maker_fee_rate))


def snap_bid(price_ticks: float, best_ask_ticks: int) -> int:
    """Round a bid down to a tick and keep it strictly below the best ask (post-only)."""
    return min(math.floor(price_ticks + SNAP_EPSILON), best_ask_ticks - 1)


def snap_ask(price_ticks: float, best_bid_ticks: int) -> int:
    """Round an ask up to a tick and keep it strictly above the best bid (post-only)."""
    return max(math.ceil(price_ticks - SNAP_EPSILON), best_bid_ticks + 1)


def quote_touch(
    reservation_ticks: float, half_spread: float, best_bid_ticks: int, best_ask_ticks: int
) -> tuple[int, int]:
    """Our best bid and ask in integer ticks: never crossing the opposite touch."""
    bid = snap_bid(reservation_ticks - half_spread, best_ask_ticks)
    ask = snap_ask(reservation_ticks + half_spread, best_bid_ticks)
    return bid, ask

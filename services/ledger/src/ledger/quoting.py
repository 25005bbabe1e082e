"""What we had resting at the venue, per symbol and color, and the time-weighted quoting figures.

Built from the executor's order events (what the venue confirmed, not what was intended): an
order rests from OrderAccepted until it is cancelled or fully filled. Between two points in venue
time the ledger credits the elapsed time to presence (both sides resting), to depth within 5 and
10 bps of the mid (resting lots x time) and to the position's time integral.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_proto import Side


@dataclass
class RestingOrder:
    side: Side
    price_ticks: int
    leaves_lots: int
    color: str
    ts_accepted_ns: int


@dataclass(frozen=True)
class QuotingSpan:
    """The quoting figures of one color over one stretch of time."""

    color: str
    two_sided: bool
    depth_5bps_lots: int
    depth_10bps_lots: int


def within_bps(price_ticks: int, mid2: int, bps: int) -> bool:
    """|price - mid| <= bps/10000 x mid, exactly, on the mid2 grid."""
    return abs(2 * price_ticks - mid2) * 10_000 <= bps * mid2


def spans(orders: dict[str, RestingOrder], mid2: int) -> list[QuotingSpan]:
    """Presence and depth per color for the orders resting now."""
    by_color: dict[str, list[RestingOrder]] = {}
    for order in orders.values():
        by_color.setdefault(order.color, []).append(order)
    result = []
    for color, resting in by_color.items():
        sides = {order.side for order in resting}
        result.append(
            QuotingSpan(
                color=color,
                two_sided=len(sides) == 2,
                depth_5bps_lots=sum(
                    o.leaves_lots for o in resting if within_bps(o.price_ticks, mid2, 5)
                ),
                depth_10bps_lots=sum(
                    o.leaves_lots for o in resting if within_bps(o.price_ticks, mid2, 10)
                ),
            )
        )
    return result

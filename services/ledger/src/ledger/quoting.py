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
    """Presence and depth per color for the orders resting now (one pass: this runs on every
    top that advances the clock, for every symbol)."""
    tallies: dict[str, tuple[set[Side], list[int]]] = {}
    for order in orders.values():
        tally = tallies.get(order.color)
        if tally is None:
            tally = tallies[order.color] = (set(), [0, 0])
        tally[0].add(order.side)
        # within_bps(price, mid2, bps) for 5 and 10 bps, with the distance computed once
        distance = abs(2 * order.price_ticks - mid2) * 10_000
        if distance <= 10 * mid2:
            depth = tally[1]
            depth[1] += order.leaves_lots
            if distance <= 5 * mid2:
                depth[0] += order.leaves_lots
    return [
        QuotingSpan(color, len(sides) == 2, depth[0], depth[1])
        for color, (sides, depth) in tallies.items()
    ]

"""Markouts: each fill valued at the mid some seconds after it, signed so positive is good for us.

A fill's markout at horizon h is `signed_lots x (mid(t + h) - price)` where `mid(t + h)` is the mid
prevailing at that venue time; a buy that the market then rises above earned a positive markout.
It is "toxic" when it is worse than the rebate the fill earned (`markout < fee`, in the venue's fee
sign, where a rebate is a negative fee).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

# The horizon the live view, the status verb and the toxic-flow alert watch.
HEADLINE_HORIZON = "10s"


@dataclass(frozen=True)
class PendingMarkout:
    """One fill waiting for the mid at one horizon."""

    due_ns: int
    horizon: str
    side: str
    color: str
    signed_lots: int
    price2: int  # twice the fill price in ticks, on the mid2 grid
    fee: Decimal
    notional_units: int


@dataclass(frozen=True)
class Markout:
    """A resolved markout, in units of the symbol's quote unit (tick x lot / 2)."""

    horizon: str
    side: str
    color: str
    units: int
    notional_units: int
    toxic: bool


def horizon_label(seconds: float) -> str:
    """`1s`, `10s`, `0.5s`: the key a horizon is reported under."""
    return f"{seconds:g}s"


def resolve(pending: PendingMarkout, mid2: int, unit: Decimal) -> Markout:
    """The markout of a pending fill once the mid at its horizon is known."""
    units = pending.signed_lots * (mid2 - pending.price2)
    return Markout(
        horizon=pending.horizon,
        side=pending.side,
        color=pending.color,
        units=units,
        notional_units=pending.notional_units,
        toxic=units * unit < pending.fee,
    )


class MarkoutQueue:
    """Fills waiting for their horizons, soonest first per horizon."""

    def __init__(self, horizons_s: tuple[float, ...]) -> None:
        if not horizons_s or any(h <= 0 for h in horizons_s):
            raise ValueError(f"horizons must be positive seconds, was {horizons_s!r}")
        self.horizons = tuple((horizon_label(h), int(h * 1e9)) for h in horizons_s)
        self._queues: dict[str, deque[PendingMarkout]] = {
            label: deque() for label, _ in self.horizons
        }

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def add(self, pending: PendingMarkout) -> None:
        self._queues[pending.horizon].append(pending)

    def due(self, now_ns: int) -> list[PendingMarkout]:
        """Every pending markout whose horizon lies before `now_ns`, removed from the queue."""
        ready: list[PendingMarkout] = []
        for queue in self._queues.values():
            while queue and queue[0].due_ns < now_ns:
                ready.append(queue.popleft())
        return ready

    def pending(self) -> list[PendingMarkout]:
        """Every fill still waiting, per horizon soonest first."""
        return [pending for queue in self._queues.values() for pending in queue]

    def sort(self) -> None:
        """Order each horizon's queue by due time again (after restoring in any order)."""
        for label, queue in self._queues.items():
            self._queues[label] = deque(sorted(queue, key=lambda p: p.due_ns))

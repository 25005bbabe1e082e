"""The one place a policy value is bounded: floor, ceiling, largest step and least interval.

Every value the policy writes passes `bounded_move`, whatever rule asked for it, so the
guarantees hold by construction (and the property tests check them on any input): the value is
within [floor, ceiling]; from a value already within the bounds it moves at most `max_step`; a
value found outside them (the operator narrowed the bounds) is brought to the nearest bound; no
two changes of a field are closer than `min_interval_s`; a NaN or infinite input moves nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from policy.params import FieldBounds, PolicyParams

Number = int | float
_DECIMALS = 6  # floats are written rounded, so a value reads back exactly as written


@dataclass(frozen=True)
class Managed:
    """A quoter parameter the policy moves: its name, its bounds in `PolicyParams`, its kind."""

    field: str
    bounds: str
    integer: bool

    def of(self, params: PolicyParams) -> FieldBounds:
        bounds = getattr(params, self.bounds)
        assert isinstance(bounds, FieldBounds)
        return bounds


MANAGED: dict[str, Managed] = {
    managed.field: managed
    for managed in (
        Managed("min_spread_bps", "spread", integer=False),
        Managed("level_size_lots", "size", integer=True),
        Managed("refresh_price_ticks", "refresh", integer=True),
        Managed("max_inventory_lots", "inventory", integer=True),
        Managed("min_requote_interval_ms", "requote", integer=True),
    )
}


def as_number(value: object) -> Number | None:
    """A finite int or float, or None (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def due(bounds: FieldBounds, last_change_ns: int | None, now_ns: int) -> bool:
    """Whether a field last changed at `last_change_ns` may change again at `now_ns`."""
    if last_change_ns is None:
        return True
    return now_ns - last_change_ns >= bounds.min_interval_s * 1e9


def bounded_move(
    bounds: FieldBounds,
    integer: bool,
    current: object,
    target: object,
    last_change_ns: int | None,
    now_ns: int,
) -> Number | None:
    """The value one change writes on the way from `current` to `target`, or None for none."""
    now, goal = as_number(current), as_number(target)
    if now is None or goal is None or not due(bounds, last_change_ns, now_ns):
        return None
    low, high, step = bounds.floor, bounds.ceiling, bounds.max_step
    if integer:
        if not isinstance(now, int):
            return None  # a whole-lot or whole-tick field holding a fraction: not ours to fix
        low, high, step = math.ceil(low), math.floor(high), math.floor(step)
        if low > high:
            return None  # no whole value within the bounds
    goal = min(max(goal, low), high)
    if low <= now <= high:
        if step <= 0:
            return None  # no whole step allowed
        moved = now + min(max(goal - now, -step), step)
    else:
        moved = min(max(now, low), high)  # back within the bounds by the shortest way
    if integer:
        # Toward `now`, so rounding never lengthens the step.
        moved = math.floor(moved) if moved > now else math.ceil(moved)
        moved = int(min(max(moved, low), high))
    else:
        rounded = round(moved, _DECIMALS)
        if low <= now <= high and abs(rounded - now) > step:
            rounded = moved  # rounding would lengthen the step past its limit
        moved = min(max(rounded, low), high)
    return None if moved == now else moved

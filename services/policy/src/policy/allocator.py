"""The portfolio allocator: a budget spread across symbols by edge and obligation value.

Pure. Each symbol's weight is its measured edge (bps per traded notional, never below zero) plus
the operator's obligation value for it; with no weight anywhere the budget is split evenly. Each
symbol gets its floor first, the rest of the budget by weight, then its cap; a rebalance moves
each symbol only `share` of the way from where it stands, so budget shifts gradually. The same
sharing serves every budget (inventory notional, gross notional, order actions per second): only
what `current` is measured in differs.

The moved amounts never sum above the budget: when they would (the budget was lowered, or the
symbols hold more than it), the rises are cut first and, if that is not enough, the falls go
further toward their targets (at which the sum is within the budget). A figure that is NaN,
infinite, negative where it cannot be, or an edge beyond `MAX_EDGE_BPS` is not a measurement:
the round moves nothing (an empty result). The result is a wish like a rule's: the policy turns
it into quoter fields through the same bounds, and risk's hard limits stay the authority over
any size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MAX_EDGE_BPS = 10_000.0  # a fill earning or losing more than its whole notional: not a figure
MAX_AMOUNT = 1e12  # the largest budget `PolicyParams` accepts


@dataclass(frozen=True)
class Claim:
    """One symbol's case for budget, and how much of it the symbol holds now."""

    edge_bps: float | None
    obligation_value: float
    current: float


def weights(claims: Mapping[str, Claim]) -> dict[str, float]:
    """Each symbol's share of the weight, summing to 1 (even when nothing has weight); empty when
    a claim is not a measurement."""
    if not all(_sane_claim(claim) for claim in claims.values()):
        return {}
    raw = {s: max(c.edge_bps or 0.0, 0.0) + c.obligation_value for s, c in claims.items()}
    total = sum(raw.values())
    if total <= 0:
        return {symbol: 1 / len(raw) for symbol in raw} if raw else {}
    return {symbol: value / total for symbol, value in raw.items()}


def allocate(
    claims: Mapping[str, Claim], budget: float, floor: float, cap: float, share: float
) -> dict[str, float]:
    """Each symbol's next amount: `share` of the way toward its weighted target, the sum within
    `budget`; empty (nothing moves) when any input is not a measurement."""
    amounts_sane = all(_amount(value) for value in (budget, floor, cap))
    if not claims or not amounts_sane or not 0 < share <= 1 or floor > cap:
        return {}
    shares = weights(claims)
    if not shares:
        return {}
    floor = min(floor, budget / len(claims), cap)
    spare = budget - floor * len(claims)
    targets = {s: min(floor + spare * shares[s], cap) for s in claims}
    current = {symbol: claim.current for symbol, claim in claims.items()}
    moved = {s: current[s] + share * (targets[s] - current[s]) for s in claims}
    return _within_budget(moved, current, targets, budget)


def _within_budget(
    moved: dict[str, float], current: dict[str, float], targets: dict[str, float], budget: float
) -> dict[str, float]:
    excess = sum(moved.values()) - budget
    if excess <= 0:
        return moved
    rises = {s: moved[s] - current[s] for s in moved if moved[s] > current[s]}
    rising = sum(rises.values())
    if rising > excess:
        keep = (rising - excess) / rising
        return {s: current[s] + rises[s] * keep if s in rises else moved[s] for s in moved}
    # Over budget with every rise cut: the falls go further toward their targets, evenly, as far
    # as the budget asks (at their targets the sum is within it).
    falls = [s for s in moved if s not in rises]
    room = sum(moved[s] - targets[s] for s in falls)
    cut = min((excess - rising) / room, 1.0) if room > 0 else 1.0
    return {
        s: current[s] if s in rises else moved[s] - cut * (moved[s] - targets[s]) for s in moved
    }


def _amount(value: float) -> bool:
    return math.isfinite(value) and 0 <= value <= MAX_AMOUNT


def _sane_claim(claim: Claim) -> bool:
    edge = claim.edge_bps
    edge_sane = edge is None or (math.isfinite(edge) and abs(edge) <= MAX_EDGE_BPS)
    return edge_sane and _amount(claim.obligation_value) and _amount(claim.current)

"""The portfolio allocator: a notional budget spread across symbols by edge and obligation value.

Pure. Each symbol's weight is its measured edge (bps per traded notional, never below zero) plus
the operator's obligation value for it; with no weight anywhere the budget is split evenly. Each
symbol gets its floor first, the rest of the budget by weight, then its cap; a rebalance moves
each symbol only `share` of the way from where it stands, so budget shifts gradually. The result
is a wish like a rule's: the policy turns it into `max_inventory_lots` through the same bounds,
and risk's hard limits stay the authority over any size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One symbol's case for budget."""

    edge_bps: float | None
    obligation_value: float
    current_notional: float


def weights(claims: Mapping[str, Claim]) -> dict[str, float]:
    """Each symbol's share of the weight, summing to 1 (even when nothing has weight)."""
    raw = {s: max(c.edge_bps or 0.0, 0.0) + c.obligation_value for s, c in claims.items()}
    total = sum(raw.values())
    if total <= 0:
        return {symbol: 1 / len(raw) for symbol in raw} if raw else {}
    return {symbol: value / total for symbol, value in raw.items()}


def allocate(
    claims: Mapping[str, Claim], budget: float, floor: float, cap: float, share: float
) -> dict[str, float]:
    """Each symbol's next notional: `share` of the way toward its weighted target."""
    if not claims:
        return {}
    floor = min(floor, budget / len(claims), cap)
    spare = budget - floor * len(claims)
    shares = weights(claims)
    targets = {s: min(floor + spare * shares[s], cap) for s in claims}
    return {
        symbol: claim.current_notional + share * (targets[symbol] - claim.current_notional)
        for symbol, claim in claims.items()
    }

"""From proposals to the changes one decision makes: pins skipped, every value bounded.

Pure. `plan_changes` takes each field's first proposal, skips a pinned field, and passes every
number through `policy.bounds.bounded_move` (a boolean, `enabled`, only flips). `allocator_wishes`
turns the allocator's notional per symbol into `max_inventory_lots` proposals at the symbol's
mid on its grid.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mm_proto.instrument import Grid
from policy.allocator import Claim, allocate, weights
from policy.bounds import MANAGED, as_number, bounded_move
from policy.params import PolicyParams
from policy.rules import Proposal
from policy.signals import Signals


@dataclass(frozen=True)
class Change:
    """One field's move in a decision."""

    field: str
    old: object
    new: object
    rule: str
    detail: str


def plan_changes(
    params: PolicyParams,
    proposals: list[Proposal],
    values: Mapping[str, object],
    pinned: Collection[str],
    changed_ns: Mapping[str, int],
    now_ns: int,
) -> tuple[list[Change], list[str]]:
    """(the changes, the proposals left alone because their field is pinned)."""
    changes: list[Change] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for proposal in proposals:
        name = proposal.field
        if name in seen:
            continue
        seen.add(name)
        if name in pinned:
            skipped.append(f"{name} pinned (set by hand): {proposal.rule} left it alone")
            continue
        old = values.get(name)
        new: object
        if name == "enabled":
            new = proposal.target if isinstance(old, bool) and old != proposal.target else None
        elif name in MANAGED:
            managed = MANAGED[name]
            new = bounded_move(
                managed.of(params),
                managed.integer,
                old,
                proposal.target,
                changed_ns.get(name),
                now_ns,
            )
        else:
            new = None
        if new is not None:
            changes.append(Change(name, old, new, proposal.rule, proposal.detail))
    return changes, skipped


@dataclass(frozen=True)
class Holding:
    """What the allocator needs of one symbol."""

    signals: Signals
    grid: Grid
    inventory_lots: int


def allocator_wishes(
    portfolio: PolicyParams, per_symbol: Mapping[str, PolicyParams], holdings: Mapping[str, Holding]
) -> tuple[list[tuple[str, Proposal]], dict[str, float]]:
    """(symbol, max_inventory_lots proposal) per symbol with a mid, and the weights used."""
    claims: dict[str, Claim] = {}
    mids: dict[str, Decimal] = {}
    for symbol, holding in holdings.items():
        if holding.signals.mid_half_ticks <= 0:
            continue  # no mark yet: no price to turn notional into lots
        mid = Decimal(holding.signals.mid_half_ticks) / 2
        mids[symbol] = mid
        current = float(holding.grid.notional(mid, holding.inventory_lots))
        claims[symbol] = Claim(
            holding.signals.edge_bps, per_symbol[symbol].obligation_value, current
        )
    shares = weights(claims)
    targets = allocate(
        claims,
        portfolio.budget_notional,
        portfolio.symbol_floor_notional,
        portfolio.symbol_cap_notional,
        portfolio.rebalance_share,
    )
    wishes = []
    for symbol, notional in targets.items():
        lots = holdings[symbol].grid.lots_within(Decimal(str(max(notional, 0.0))), mids[symbol])
        edge = as_number(claims[symbol].edge_bps)
        detail = (
            f"weight {shares[symbol]:.3f} (edge {edge if edge is not None else 'n/a'} bps, "
            f"obligation value {claims[symbol].obligation_value}): notional "
            f"{claims[symbol].current_notional:.2f} -> {notional:.2f}"
        )
        wishes.append((symbol, Proposal("allocator", "max_inventory_lots", lots, detail)))
    return wishes, shares

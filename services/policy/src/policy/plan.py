"""From proposals to the changes one decision makes: pins skipped, every value bounded.

Pure. `plan_changes` takes each field's first proposal, skips a pinned field, lowers a target
above its ceiling (the allocator's gross share, `policy.budgets.gross_ceilings`), and passes every
number through `policy.bounds.bounded_move` (a boolean, `enabled`, only flips).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from policy.bounds import MANAGED, Number, as_number, bounded_move
from policy.params import PolicyParams
from policy.rules import Proposal


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
    ceilings: Mapping[str, Number] | None = None,
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
            managed, target = MANAGED[name], proposal.target
            ceiling = (ceilings or {}).get(name)
            if ceiling is not None and as_number(target) is not None:
                target = min(target, ceiling)
            new = bounded_move(
                managed.of(params), managed.integer, old, target, changed_ns.get(name), now_ns
            )
        else:
            new = None
        if new is not None:
            changes.append(Change(name, old, new, proposal.rule, proposal.detail))
    return changes, skipped

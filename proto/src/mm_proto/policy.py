"""The slow loop's facts: each autopolicy or allocator decision, with its inputs and outcome."""

from typing import Annotated

import msgspec

from mm_proto.message import Message, TimestampNs

PolicyStage = Annotated[str, msgspec.Meta(pattern="^(decided|applied|refused|dry_run|held)$")]
"""`decided`: about to be written; `applied` / `refused`: what the owning service answered;
`dry_run`: logged and published, nothing written; `held`: the policy stopped deciding (why)."""


class PolicyDecision(Message, frozen=True, kw_only=True, tag="policy_decision"):
    """One decision of `services/policy` for one symbol (stream POLICY, `policy.event.*`).

    A decision is published `decided` before its config entry is written, then `applied` or
    `refused` with the same `decision_id`, so a policy killed in between finishes it on restart
    instead of repeating or losing it. Values are JSON texts of the fields' values.
    """

    venue: str
    category: str
    symbol: str
    decision_id: str  # `<symbol>-<n>`, n counting the symbol's decisions from 1
    stage: PolicyStage
    rule: str  # what fired, e.g. "toxic_edge", "allocator", "bounds"
    key: str = ""  # the config entry written, e.g. "quoter.BTCUSDT"
    old_values: dict[str, str] = {}
    new_values: dict[str, str] = {}
    inputs: dict[str, str] = {}  # the figures the rule read, as decimal text
    detail: str = ""  # the rule's reason in words, or the refusal
    ts_event_ns: TimestampNs


def in_words(decision: PolicyDecision) -> str:
    """One decision as a sentence: what moved, from what to what, why, and what became of it."""
    moves = ", ".join(
        f"{name} {decision.old_values.get(name, '?')} -> {value}"
        for name, value in sorted(decision.new_values.items())
    )
    what = moves or decision.detail
    because = f" because {decision.detail}" if moves and decision.detail else ""
    return f"{decision.decision_id} [{decision.stage}] {decision.rule}: {what}{because}"

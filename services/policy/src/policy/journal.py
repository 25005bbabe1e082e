"""The policy's memory: stream POLICY read back into what it wrote, when, and what is unfinished.

Every decision is a `PolicyDecision` fact, published `decided` before the write and `applied` or
`refused` after it (or `dry_run` alone), each with `Nats-Msg-Id` `policy:<decision_id>:<stage>`
so a retried publish is stored once. A restarted policy reads the stream back (`restore`) into a
`Journal`: the value it last wrote to each field (a field holding anything else was set by hand:
pinned), when each field last changed or was tried (the rate limit survives restarts), each
symbol's decision count (ids continue, never repeat) and any decision left `decided` by a crash,
which the service finishes before deciding anything new.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mm_proto import DecodeError, PolicyDecision, decode, subjects
from mm_runtime.jetstream import publish_fact

_log = logging.getLogger("policy.journal")
RECENT = 50  # decisions kept per symbol for `status` and `explain`
_ATTEMPTS = ("applied", "refused", "dry_run")


def message_id(decision: PolicyDecision) -> str:
    return f"policy:{decision.decision_id}:{decision.stage}"


@dataclass
class Journal:
    """What the stream says the policy did; see the module docstring."""

    written: dict[tuple[str, str], str] = field(default_factory=dict)  # (key, field) -> JSON
    writes: int = 0  # applied decisions taken so far (a round that wrote reads the quoter again)
    changed_ns: dict[tuple[str, str], int] = field(default_factory=dict)  # (symbol, field)
    counts: dict[str, int] = field(default_factory=dict)
    pending: dict[str, PolicyDecision] = field(default_factory=dict)  # symbol -> decided
    pulled: set[str] = field(default_factory=set)  # symbols the policy itself pulled
    rebalanced_ns: int = 0
    recent: dict[str, deque[PolicyDecision]] = field(default_factory=dict)

    def next_id(self, symbol: str) -> str:
        return f"{symbol}-{self.counts.get(symbol, 0) + 1}"

    def apply(self, decision: PolicyDecision) -> None:
        """Take one decision as read from the stream (or just published)."""
        symbol = decision.symbol
        self.recent.setdefault(symbol, deque(maxlen=RECENT)).append(decision)
        number = _number(decision.decision_id)
        if number is not None:
            self.counts[symbol] = max(self.counts.get(symbol, 0), number)
        if decision.stage == "decided":
            self.pending[symbol] = decision
            return
        if decision.stage not in _ATTEMPTS:
            return
        pending = self.pending.get(symbol)
        if pending is not None and pending.decision_id == decision.decision_id:
            del self.pending[symbol]
        for name in decision.new_values:
            self.changed_ns[(symbol, name)] = decision.ts_event_ns
        if "allocator" in decision.rule.split("+"):
            self.rebalanced_ns = max(self.rebalanced_ns, decision.ts_event_ns)
        if decision.stage == "applied":
            self.writes += 1
            for name, value in decision.new_values.items():
                self.written[(decision.key, name)] = value
            enabled = decision.new_values.get("enabled")
            if enabled == "false":
                self.pulled.add(symbol)
            elif enabled == "true":
                self.pulled.discard(symbol)


def _number(decision_id: str) -> int | None:
    tail = decision_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


async def publish(jetstream: JetStreamContext, decision: PolicyDecision) -> None:
    """Store one decision; raises when the server does not confirm it."""
    subject = subjects.policy_event(decision.venue, decision.category, decision.symbol)
    await publish_fact(jetstream, subject, decision, message_id(decision))


async def restore(
    jetstream: JetStreamContext, venue: str, category: str, scan_limit: int
) -> Journal:
    """The journal the stream holds for `venue`/`category` (its newest `scan_limit` messages)."""
    journal = Journal()
    try:
        info = await jetstream.stream_info(subjects.POLICY_STREAM)
    except NotFoundError:
        return journal
    last = info.state.last_seq
    first = max(info.state.first_seq, last - scan_limit + 1, 1)
    for sequence in range(first, last + 1):
        try:
            raw = await jetstream.get_msg(subjects.POLICY_STREAM, sequence)
        except NotFoundError:
            continue
        try:
            decision = decode(raw.data or b"", PolicyDecision)
        except DecodeError as error:
            _log.warning("undecodable decision", extra={"seq": sequence, "error": str(error)})
            continue
        if (decision.venue, decision.category) == (venue, category):
            journal.apply(decision)
    return journal

"""The journal read back from decisions: ids continue, pending is finished, pins are seen."""

from __future__ import annotations

from mm_proto import PolicyDecision
from policy.journal import Journal
from policy.quoter_config import QuoterView


def decision(number: int, stage: str, new: str = "2.5", ts: int = 1) -> PolicyDecision:
    return PolicyDecision(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        decision_id=f"BTCUSDT-{number}",
        stage=stage,
        rule="toxic_edge",
        key="quoter.BTCUSDT",
        old_values={"min_spread_bps": "2.0"},
        new_values={"min_spread_bps": new},
        ts_event_ns=ts,
    )


def test_a_decided_decision_without_an_outcome_stays_pending_and_ids_continue() -> None:
    journal = Journal()
    for item in (decision(1, "decided"), decision(1, "applied"), decision(2, "decided")):
        journal.apply(item)
    assert journal.pending["BTCUSDT"].decision_id == "BTCUSDT-2"
    assert journal.next_id("BTCUSDT") == "BTCUSDT-3"
    assert journal.written[("quoter.BTCUSDT", "min_spread_bps")] == "2.5"


def test_a_refusal_counts_against_the_rate_limit_but_is_not_a_written_value() -> None:
    journal = Journal()
    journal.apply(decision(1, "decided", ts=5))
    journal.apply(decision(1, "refused", ts=6))
    assert journal.pending == {}
    assert journal.changed_ns[("BTCUSDT", "min_spread_bps")] == 6
    assert journal.written == {}


def test_a_field_holding_what_the_policy_did_not_write_is_pinned() -> None:
    journal = Journal()
    journal.apply(decision(1, "applied", new="2.5"))
    ours = QuoterView({"quoter.BTCUSDT": {"min_spread_bps": 2.5}}, {})
    by_hand = QuoterView({"quoter.BTCUSDT": {"min_spread_bps": 3, "levels": 2}}, {})
    assert ours.pinned("BTCUSDT", journal.written) == set()
    assert by_hand.pinned("BTCUSDT", journal.written) == {"min_spread_bps", "levels"}

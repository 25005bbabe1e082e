"""A policy killed between `decided` and its outcome: the restarted one finishes the decision,
neither repeating it nor losing it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mm_proto import PolicyDecision, subjects
from mm_runtime.jetstream import publish_fact
from mm_runtime.testing import eventually
from policy.journal import message_id

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Rig

SYMBOL = "BTCUSDT"


def left_decided(number: int) -> PolicyDecision:
    """What a policy killed right after publishing `decided` leaves on the stream."""
    return PolicyDecision(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        decision_id=f"{SYMBOL}-{number}",
        stage="decided",
        rule="toxic_edge",
        key=f"quoter.{SYMBOL}",
        old_values={"min_spread_bps": "2.0"},
        new_values={"min_spread_bps": "3.0"},
        ts_event_ns=time.time_ns(),
    )


async def leave(rig: Rig, decision: PolicyDecision) -> None:
    subject = subjects.policy_event("bybit", "linear", SYMBOL)
    await publish_fact(rig.js, subject, decision, message_id(decision))


async def test_a_decision_killed_before_its_write_is_written_once_on_restart(rig: Rig) -> None:
    await leave(rig, left_decided(4))
    await rig.start_policy(mode="dry_run")  # finishing is not a new decision: dry run or not
    applied = await eventually(lambda: rig.stage("applied"), timeout=10, interval=0.25)
    assert [d.decision_id for d in applied] == [f"{SYMBOL}-4"]
    assert (await rig.quoter_entry())["min_spread_bps"] == 3.0
    assert len(await rig.stage("decided")) == 1
    status = await rig.status()
    assert status[f"{SYMBOL}.pinned"] == ""  # the finished write is the policy's, not by hand


async def test_a_decision_killed_after_its_write_is_recorded_without_writing_again(
    rig: Rig,
) -> None:
    await rig.set_by_hand({"min_spread_bps": 3.0})  # the write that happened before the kill
    revision = (await (await rig.js.key_value("config")).get(f"quoter.{SYMBOL}")).revision
    await leave(rig, left_decided(1))
    service = await rig.start_policy()
    applied = await eventually(lambda: rig.stage("applied"), timeout=10, interval=0.25)
    assert [d.decision_id for d in applied] == [f"{SYMBOL}-1"]
    entry = await (await rig.js.key_value("config")).get(f"quoter.{SYMBOL}")
    assert entry.revision == revision
    await rig.kpi(rig.toxic_row())
    await eventually(
        lambda: len(service.decider.journal.recent[SYMBOL]) >= 4, timeout=10, interval=0.25
    )
    numbers = [d.decision_id for d in await rig.stage("decided")]
    assert len(numbers) >= 2
    # Each id once, counting on from the finished one.
    assert numbers == [f"{SYMBOL}-{n}" for n in range(1, len(numbers) + 1)]


async def test_a_decision_overtaken_by_a_hand_edit_is_refused_not_forced(rig: Rig) -> None:
    await rig.set_by_hand({"min_spread_bps": 5.0})
    await leave(rig, left_decided(1))
    await rig.start_policy()
    refused = await eventually(lambda: rig.stage("refused"), timeout=10, interval=0.25)
    assert refused[0].detail.startswith("changed by hand")
    assert (await rig.quoter_entry())["min_spread_bps"] == 5.0

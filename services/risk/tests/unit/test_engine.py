"""The engine: halt and resume, re-checks after fills, bad books, and replayed rejects."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from risk.engine import HaltStatus, RiskEngine
from risk.limits import KillSwitchLimits, RiskLimits, SymbolLimits
from risk.verdicts import Action

S = 1_000_000_000
START = 1_000 * S
BTC = Grid("BTCUSDT", Decimal("0.01"), Decimal(1))
LADDER = Ladder(
    (QuoteLevel(price_ticks=9_990, size_lots=5), QuoteLevel(price_ticks=9_980, size_lots=5)),
    (QuoteLevel(price_ticks=10_010, size_lots=5),),
)
LIMITS = RiskLimits(
    default=SymbolLimits(
        max_position_lots=10,
        max_order_lots=10,
        max_order_notional=Decimal(2_000),
        min_target_interval_ms=0,
    ),
    kill_switch=KillSwitchLimits(
        executor_heartbeat_timeout_ms=2_000, md_down_after_ms=60_000, executor_startup_grace_ms=0
    ),
)


def engine(halt: HaltStatus | None = None) -> RiskEngine:
    risk = RiskEngine({"BTCUSDT": BTC}, LIMITS, halt or HaltStatus(), START)
    assert risk.on_book("BTCUSDT", 9_999, 10_001, START, START) == ""
    return risk


def test_a_clean_intent_is_published_as_is() -> None:
    outcome = engine().on_intent("BTCUSDT", LADDER, "i1", START)
    assert outcome.target is not None
    assert outcome.target.ladder == LADDER
    assert outcome.decision is not None
    assert outcome.decision.action is Action.PUBLISH


def test_a_halted_engine_answers_every_intent_with_cancel_all() -> None:
    risk = engine(HaltStatus(True, "stored", "alice", START))
    outcome = risk.on_intent("BTCUSDT", LADDER, "i1", START)
    assert outcome.decision is None
    assert outcome.target is not None
    assert outcome.target.cancel_all
    assert outcome.target.ladder.is_empty


def test_a_second_halt_keeps_the_first_reason() -> None:
    risk = engine()
    assert risk.halt("first", "alice", START)
    assert not risk.halt("second", "bob", START + 1)
    assert risk.halt_status.reason == "first"


def test_resume_is_refused_while_the_executor_is_silent_and_accepted_once_it_speaks() -> None:
    risk = engine()
    risk.halt("drill", "alice", START)
    later = START + 3 * S
    assert "executor_heartbeat" in risk.resume("done", "alice", later)
    assert risk.halted
    risk.on_executor_heartbeat(later)
    risk.on_book("BTCUSDT", 9_999, 10_001, later, later)
    assert risk.resume("done", "alice", later) == ""
    assert not risk.halted
    outcome = risk.on_intent("BTCUSDT", LADDER, "i2", later)
    assert outcome.target is not None
    assert not outcome.target.cancel_all


def test_a_fill_rechecks_the_last_intent_and_shrinks_the_bid_side() -> None:
    risk = engine()
    risk.on_intent("BTCUSDT", LADDER, "i1", START)
    assert risk.recheck("BTCUSDT", START) is None  # nothing moved
    risk.on_fill("BTCUSDT", "f1", 5, 9_990, Decimal(0), START + 1)
    outcome = risk.recheck("BTCUSDT", START + 1)
    assert outcome is not None
    assert outcome.target is not None
    assert outcome.target.ladder == Ladder(
        (QuoteLevel(price_ticks=9_990, size_lots=5),),
        (QuoteLevel(price_ticks=10_010, size_lots=5),),
    )


def test_one_sided_and_crossed_books_are_refused_and_keep_the_last_good_mid() -> None:
    risk = engine()
    assert "one-sided" in risk.on_book("BTCUSDT", 0, 10_001, START, START)
    assert "crossed" in risk.on_book("BTCUSDT", 10_001, 10_001, START, START)
    assert risk.status()["BTCUSDT.mid_ticks"] == "10000"


def test_rejects_older_than_the_window_are_not_counted() -> None:
    risk = RiskEngine(
        {"BTCUSDT": BTC},
        LIMITS.model_copy(update={"kill_switch": KillSwitchLimits(max_rejects=1)}),
        HaltStatus(),
        START,
    )
    old = START - 120 * S
    assert risk.on_reject(old, START) is None
    assert risk.on_reject(old, START) is None
    assert risk.on_reject(START, START) is None
    assert risk.on_reject(START, START) is not None


def test_resume_after_a_mismatch_adopts_the_executors_position() -> None:
    risk = engine()
    risk.on_executor_heartbeat(START)
    assert risk.on_position("BTCUSDT", 3) is None
    trip = risk.on_position("BTCUSDT", 3)
    assert trip is not None
    risk.halt(trip.detail, trip.trigger.value, START)
    assert risk.resume("checked", "alice", START) == ""
    assert risk.portfolio.position_lots("BTCUSDT") == 3
    assert risk.on_position("BTCUSDT", 3) is None


def test_an_intent_held_by_the_minimum_interval_goes_out_once_the_interval_passes() -> None:
    limits = LIMITS.model_copy(
        update={"default": LIMITS.default.model_copy(update={"min_target_interval_ms": 100})}
    )
    risk = RiskEngine({"BTCUSDT": BTC}, limits, HaltStatus(), START)
    risk.on_book("BTCUSDT", 9_999, 10_001, START, START)
    first = Ladder((QuoteLevel(price_ticks=9_990, size_lots=1),), ())
    assert risk.on_intent("BTCUSDT", first, "i1", START).target is not None
    assert risk.on_intent("BTCUSDT", LADDER, "i2", START + 1).target is None
    assert risk.retry_held(START + 50_000_000) == []
    released = risk.retry_held(START + 100_000_000)
    assert [outcome.target.intent_id for outcome in released if outcome.target] == ["i2"]
    assert risk.retry_held(START + 200_000_000) == []


def test_a_transient_halt_heals_once_clear_for_the_heal_time_and_keeps_positions() -> None:
    risk = engine()
    risk.on_executor_heartbeat(START)
    assert risk.halt("no executor heartbeat", "executor_heartbeat", START, transient=True)
    assert risk.halt_status.transient
    heal_ns = LIMITS.kill_switch.halt_heal_after_ms * 1_000_000
    assert risk.heal(START + 1) == ""  # clear from now on, not yet long enough
    risk.on_executor_heartbeat(START + heal_ns)
    risk.on_book("BTCUSDT", 9_999, 10_001, START + heal_ns, START + heal_ns)
    healed = risk.heal(START + heal_ns + 1)
    assert "executor_heartbeat halt healed" in healed
    assert not risk.halted


def test_a_transient_halt_does_not_heal_while_its_condition_holds() -> None:
    risk = engine()
    assert risk.halt("no executor heartbeat", "executor_heartbeat", START, transient=True)
    for step in range(1, 20):
        assert risk.heal(START + step * S) == ""  # never a heartbeat: never clear
    assert risk.halted


def test_a_hard_trip_hardens_a_transient_halt_and_a_transient_one_never_softens_a_hard_one() -> (
    None
):
    risk = engine()
    assert risk.halt("feed down", "md_down", START, transient=True)
    assert risk.halt("lost too much", "pnl_window", START + 1)
    assert (risk.halt_status.by, risk.halt_status.transient) == ("pnl_window", False)
    assert not risk.halt("feed down again", "md_down", START + 2, transient=True)
    assert risk.halt_status.by == "pnl_window"
    risk.on_executor_heartbeat(START + 10 * S)
    risk.on_book("BTCUSDT", 9_999, 10_001, START + 10 * S, START + 10 * S)
    assert risk.heal(START + 10 * S) == ""
    assert risk.heal(START + 20 * S) == ""
    assert risk.halted


def test_a_restored_position_mismatch_halt_waits_for_an_operator() -> None:
    stored = HaltStatus(True, "BTCUSDT disagrees", "position_mismatch", START, transient=True)
    risk = engine(stored)
    assert not risk.halt_status.transient
    risk.on_executor_heartbeat(START + 10 * S)
    assert risk.heal(START + 10 * S) == ""
    assert risk.heal(START + 20 * S) == ""
    assert risk.halted


def test_a_position_mismatch_halt_heals_once_a_snapshot_agrees_again() -> None:
    risk = engine()
    risk.on_executor_heartbeat(START)
    assert risk.on_position("BTCUSDT", 5) is None
    trip = risk.on_position("BTCUSDT", 5)
    assert trip is not None
    assert risk.halt(trip.detail, trip.trigger.value, START, transient=True)
    risk.on_executor_heartbeat(START + S)
    assert risk.heal(START + S) == ""  # still disagrees
    assert risk.on_position("BTCUSDT", 0) is None  # the venue agrees with the fills again
    heal_ns = LIMITS.kill_switch.halt_heal_after_ms * 1_000_000
    assert risk.heal(START + S) == ""
    risk.on_executor_heartbeat(START + S + heal_ns)
    risk.on_book("BTCUSDT", 9_999, 10_001, START + S + heal_ns, START + S + heal_ns)
    assert "position_mismatch halt healed" in risk.heal(START + S + heal_ns)


def test_a_reconciliation_baseline_replaces_what_stale_fills_add_up_to() -> None:
    """After a restart of the venue the kept EXEC history says 5 lots while the venue is flat:
    the executor's baseline is adopted, and later snapshots are checked against it."""
    risk = engine()
    risk.on_executor_heartbeat(START)
    assert risk.on_fill("BTCUSDT", "old-run-1", 5, 10_000, Decimal(0), START) is None
    assert risk.on_position("BTCUSDT", 0, baseline_entry_ticks=Decimal(0)) is None
    assert risk.on_position("BTCUSDT", 0, baseline_entry_ticks=Decimal(0)) is None
    assert risk.portfolio.position_lots("BTCUSDT") == 0
    assert risk.on_fill("BTCUSDT", "new-run-1", -2, 10_010, Decimal(0), START) is None
    assert risk.on_position("BTCUSDT", -2) is None
    assert risk.on_position("BTCUSDT", -2) is None
    assert risk.portfolio.position("BTCUSDT").entry_price_ticks == Decimal(10_010)


def test_snapshots_that_are_not_baselines_still_trip_on_a_mismatch() -> None:
    risk = engine()
    risk.on_executor_heartbeat(START)
    assert risk.on_fill("BTCUSDT", "f1", 5, 10_000, Decimal(0), START) is None
    assert risk.on_position("BTCUSDT", 0) is None
    trip = risk.on_position("BTCUSDT", 0)
    assert trip is not None
    assert trip.trigger.value == "position_mismatch"


def test_a_target_carries_the_color_of_its_intent_through_rechecks() -> None:
    risk = engine()
    outcome = risk.on_intent("BTCUSDT", LADDER, "i1", START, color="green")
    assert outcome.target is not None
    assert outcome.target.color == "green"
    risk.on_fill("BTCUSDT", "f1", 5, 9_990, Decimal(0), START + 1)
    recheck = risk.recheck("BTCUSDT", START + 1)
    assert recheck is not None
    assert recheck.target is not None
    assert recheck.target.color == "green"
    later = risk.on_intent(
        "BTCUSDT", Ladder((QuoteLevel(price_ticks=9_980, size_lots=5),), ()), "i2", START + 2
    )
    assert later.target is not None
    assert later.target.color == "blue"  # an intent without a color is the default's

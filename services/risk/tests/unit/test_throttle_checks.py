"""The minimum interval between target changes and the order-rate budget, at their boundaries."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel, ladder_changes
from risk.checks import check_intent
from risk.limits import RiskLimits, SymbolLimits
from risk.throttle_checks import ActionWindow, check_min_target_interval, check_order_rate
from risk.verdicts import Action, CheckState, MarketView, Outcome

MS = 1_000_000
NOW = 10_000 * MS
INSTRUMENT = Grid("BTCUSDT", Decimal("0.01"), Decimal(1))
PREVIOUS = Ladder(
    (QuoteLevel(price_ticks=9_990, size_lots=1),), (QuoteLevel(price_ticks=10_010, size_lots=1),)
)
BIGGER = Ladder(
    (QuoteLevel(price_ticks=9_990, size_lots=2),), (QuoteLevel(price_ticks=10_010, size_lots=1),)
)


def rules(**symbol: object) -> RiskLimits:
    return RiskLimits(default=SymbolLimits.model_validate(symbol))


def state(**fields: object) -> CheckState:
    values: dict[str, object] = {
        "now_ns": NOW,
        "grid": INSTRUMENT,
        "market": MarketView(9_999, 10_001, NOW),
        "previous_target": PREVIOUS,
    }
    values.update(fields)
    return CheckState(**values)  # type: ignore[arg-type]


def test_change_exactly_at_the_minimum_interval_passes_and_sooner_is_blocked() -> None:
    limits = rules(min_target_interval_ms=100)
    at = state(last_change_ns=NOW - 100 * MS)
    assert check_min_target_interval(BIGGER, at, limits).outcome is Outcome.PASS
    early = state(last_change_ns=NOW - 100 * MS + 1)
    result = check_min_target_interval(BIGGER, early, limits)
    assert result.outcome is Outcome.BLOCK
    assert result.limit == 100


def test_same_target_or_a_pull_or_a_reduction_is_never_throttled() -> None:
    limits = rules(min_target_interval_ms=100)
    early = state(last_change_ns=NOW - 1)
    smaller = Ladder((), (QuoteLevel(price_ticks=10_010, size_lots=1),))
    for ladder in (PREVIOUS, Ladder(), smaller):
        assert check_min_target_interval(ladder, early, limits).outcome is Outcome.PASS
        assert (
            check_order_rate(ladder, state(actions_in_window=10**6), limits).outcome is Outcome.PASS
        )


def test_budget_used_up_exactly_passes_and_one_more_action_blocks() -> None:
    limits = rules(max_order_actions=10, max_open_orders=10)
    needed = ladder_changes(PREVIOUS, BIGGER)
    assert needed == 1
    assert check_order_rate(BIGGER, state(actions_in_window=9), limits).outcome is Outcome.PASS
    result = check_order_rate(BIGGER, state(actions_in_window=10), limits)
    assert result.outcome is Outcome.BLOCK
    assert (result.observed, result.limit) == (11, 10)


def test_first_target_counts_every_level_as_a_placement() -> None:
    assert ladder_changes(None, BIGGER) == 2
    moved = Ladder(
        (QuoteLevel(price_ticks=9_991, size_lots=1), QuoteLevel(price_ticks=9_981, size_lots=1)),
        (QuoteLevel(price_ticks=10_010, size_lots=1),),
    )
    assert ladder_changes(PREVIOUS, moved) == 2


def test_action_window_forgets_actions_older_than_the_window() -> None:
    window = ActionWindow(window_ms=1_000)
    window.record(0, 3)
    window.record(500 * MS, 2)
    assert window.used(999 * MS) == 5
    assert window.used(1_000 * MS) == 2
    assert window.used(1_500 * MS) == 0


def test_throttled_intent_holds_the_previous_target_and_says_why() -> None:
    decision = check_intent(
        BIGGER, state(last_change_ns=NOW - 1), rules(min_target_interval_ms=100)
    )
    assert decision.action is Action.HOLD
    assert [event.check for event in decision.events] == ["min_target_interval"]

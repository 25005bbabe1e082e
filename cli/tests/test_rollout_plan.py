"""The rollout's state machine on KPI snapshots: rollback at once on a breach, advance after a
passing window, promote after the last step, hold on too little data."""

from __future__ import annotations

from typing import Any

import msgspec

from mm_cli.rollout_plan import evaluate, event_of, gate_table
from mm_cli.rollout_rules import StartRequest, start_state
from mm_proto import KpiSnapshot
from mm_proto.rollout import PROMOTED, RAMPING, ROLLED_BACK, RolloutState
from quoter.params import QuoterParams

S = 1_000_000_000
T0 = 1_800_000_000 * S
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


def started(window_s: int = 60) -> RolloutState:
    request = StartRequest(
        rollout_id="r1", candidate={"min_spread_bps": 3.0}, symbols=SYMBOLS,
        ramp_pct=[10, 50, 100], split_pct=None, step_window_s=window_s, cooldown_s=60,
        tolerance_bps="0.5", gate=gate_table(None),
    )  # fmt: skip
    return start_state(request, {"default": QuoterParams()}, {}, None, T0)


def rows(
    color: str, start_ns: int, markout_bps: float = 1.0, net: str = "1", **more: Any
) -> list[KpiSnapshot]:
    """One symbol's buy row and `all` row over 10 s: 10 maker fills of 1,000 notional."""
    common: dict[str, Any] = {
        "venue": "bybit", "category": "linear", "symbol": "BTCUSDT", "color": color,
        "ts_start_ns": start_ns, "ts_end_ns": start_ns + 10 * S,
    }  # fmt: skip
    side = KpiSnapshot(
        **common, side="buy", fills=10, maker_fills=10, notional="1000", net_pnl=net,
        markout_quote={"10s": str(markout_bps / 10)}, markout_notional={"10s": "1000"},
        markout_fills={"10s": 10}, toxic_fills={"10s": 1}, orders_created=20,
        **more,
    )  # fmt: skip
    whole = KpiSnapshot(
        **common, side="all", observed_nanos=10 * S, two_sided_nanos=10 * S, orders_created=0
    )
    return [side, whole]


def test_green_passing_over_its_window_and_level_with_blue_advances_one_step() -> None:
    state = started()
    kpis = rows("blue", T0) + rows("green", T0 + 50 * S)
    transition = evaluate(state, kpis, T0 + 61 * S)
    assert transition is not None
    after = transition.state
    assert (after.phase, after.step_index, after.split_pct, after.seq) == (RAMPING, 1, 50, 2)
    assert set(state.green_symbols) < set(after.green_symbols)
    assert transition.event.action == "advance"
    assert transition.event.kpis["green.markout_bps"] == "1.000"
    assert transition.event == event_of(after, "bybit", "linear")


def test_a_passing_green_holds_until_its_window_has_passed() -> None:
    state = started()
    kpis = rows("blue", T0) + rows("green", T0 + 10 * S)
    assert evaluate(state, kpis, T0 + 59 * S) is None


def test_too_little_data_never_advances() -> None:
    state = started()
    assert evaluate(state, rows("blue", T0), T0 + 3600 * S) is None  # no green row at all
    no_blue = rows("green", T0 + 10 * S)
    assert evaluate(state, no_blue, T0 + 3600 * S) is None  # nothing to compare against


def test_a_gate_failure_rolls_back_at_once_with_the_failing_figure() -> None:
    state = started()
    kpis = rows("blue", T0) + rows("green", T0 + 10 * S, rejects={"10001": 5})
    transition = evaluate(state, kpis, T0 + 15 * S)  # well inside the step's window
    assert transition is not None
    assert transition.state.phase == ROLLED_BACK
    assert transition.state.green_symbols == []
    assert transition.state.split_pct == 0
    assert "rejects_per_1000" in transition.event.reason
    assert transition.event.kpis["gate.rejects_per_1000"].startswith("FAIL")


def test_green_worse_than_blue_beyond_the_tolerance_rolls_back() -> None:
    state = started()
    kpis = rows("blue", T0, markout_bps=2.0) + rows("green", T0 + 10 * S, markout_bps=1.0)
    transition = evaluate(state, kpis, T0 + 15 * S)
    assert transition is not None
    assert transition.state.phase == ROLLED_BACK
    assert "worse than blue" in transition.event.reason
    assert "markout_bps" in transition.event.reason


def test_green_slightly_worse_within_the_tolerance_still_advances() -> None:
    state = started()
    kpis = rows("blue", T0, markout_bps=1.3) + rows("green", T0 + 10 * S, markout_bps=1.0)
    transition = evaluate(state, kpis, T0 + 61 * S)
    assert transition is not None
    assert transition.event.action == "advance"


def test_the_last_step_passing_promotes_and_blue_from_earlier_steps_is_the_reference() -> None:
    state = msgspec.structs.replace(
        started(), step_index=2, split_pct=100, green_symbols=SYMBOLS,
        ts_step_started_ns=T0 + 200 * S,
    )  # fmt: skip
    kpis = rows("blue", T0) + rows("green", T0 + 250 * S)
    transition = evaluate(state, kpis, T0 + 261 * S)
    assert transition is not None
    assert (transition.state.phase, transition.event.action) == (PROMOTED, "promote")
    assert transition.state.green_symbols == []


def test_an_ended_rollout_is_never_evaluated_again() -> None:
    ended = msgspec.structs.replace(started(), phase=ROLLED_BACK)
    assert evaluate(ended, rows("blue", T0) + rows("green", T0), T0 + 3600 * S) is None


def test_the_same_state_and_snapshots_give_the_same_verdict() -> None:
    state = started()
    kpis = rows("blue", T0) + rows("green", T0 + 50 * S)
    first, again = evaluate(state, kpis, T0 + 61 * S), evaluate(state, kpis, T0 + 61 * S)
    assert first is not None
    assert again is not None
    assert first.state == again.state


def test_the_first_tenth_of_a_step_is_not_judged() -> None:
    state = started()  # a 60 s window: the first 6 s are the switch itself
    kpis = rows("blue", T0) + rows("green", T0 + 1 * S, rejects={"10001": 5})
    assert evaluate(state, kpis, T0 + 15 * S) is None


def test_a_breach_waits_for_a_quarter_of_the_window_then_rolls_back_at_once() -> None:
    state = started()  # a 60 s window: breaches are judged from 15 s on
    kpis = rows("blue", T0) + rows("green", T0 + 6 * S, rejects={"10001": 5})
    assert evaluate(state, kpis, T0 + 14 * S) is None
    transition = evaluate(state, kpis, T0 + 15 * S)
    assert transition is not None
    assert transition.event.action == "rollback"

"""The canary rollout's invariants: every one refused whole, with its reason; the sticky split."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest

from mm_cli.rollout_plan import gate_table
from mm_cli.rollout_rules import (
    RolloutRefusedError,
    StartRequest,
    green_symbols,
    start_state,
)
from mm_proto.rollout import ABORTED, PROMOTED, RAMPING, ROLLED_BACK
from quoter.params import QuoterParams

NOW = 1_800_000_000_000_000_000
BLUE = QuoterParams(min_spread_bps=2.0, level_size_lots=2, max_inventory_lots=20)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
REQUEST = StartRequest(
    rollout_id="r1",
    candidate={"min_spread_bps": 3.0},
    symbols=SYMBOLS,
    ramp_pct=[10, 25, 50, 100],
    split_pct=None,
    step_window_s=60,
    cooldown_s=60,
    tolerance_bps="0.5",
    gate=gate_table(None),
)


def refusal(entries: dict[str, dict[str, Any]] | None = None, **change: Any) -> list[str]:
    request = dataclasses.replace(REQUEST, **change)
    with pytest.raises(RolloutRefusedError) as refused:
        start_state(request, {"default": BLUE}, entries or {}, None, NOW)
    return refused.value.reasons


def test_a_valid_request_starts_at_the_first_step_with_a_sticky_green_share() -> None:
    state = start_state(REQUEST, {"default": BLUE}, {}, None, NOW)
    assert (state.phase, state.step_index, state.split_pct, state.seq) == (RAMPING, 0, 10, 1)
    assert state.green_symbols == green_symbols("r1", SYMBOLS, 10)
    assert len(state.green_symbols) == 1  # ceil(10 % of 4), and never none above 0 %


def test_a_symbol_on_green_stays_on_green_as_the_split_rises() -> None:
    symbols = [f"S{n}USDT" for n in range(40)]
    previous: list[str] = []
    for split in (10, 25, 50, 100):
        now = green_symbols("r7", symbols, split)
        assert set(previous) <= set(now)
        previous = now
    assert sorted(previous) == sorted(symbols)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ramp_pct": [], "split_pct": 10}, "needs a ramp"),
        ({"ramp_pct": [10, 50, 25, 100]}, "must rise"),
        ({"ramp_pct": [10, 25, 50]}, "must end at 100"),
        ({"ramp_pct": [0, 50, 100]}, "1..100"),
        ({"split_pct": 20}, "exceeds the ramp's current step 10"),
        ({"split_pct": -5}, "at least 0"),
        ({"step_window_s": 0}, "step window must be above 0"),
        ({"cooldown_s": -1}, "cooldown must be above 0"),
        ({"tolerance_bps": "NaN"}, "tolerance"),
        ({"candidate": {}}, "must differ from blue"),
        ({"candidate": {"min_spread_bps": 2.0}}, "equals blue"),
        ({"candidate": {"color": "green"}}, "may not set color"),
        ({"candidate": {"volatility_horizon_s": 5.0}}, "restart-only"),
        ({"candidate": {"min_spread_bps": 0.5}}, "min_spread_bps"),  # beyond its live step
        ({"candidate": {"max_inventory_lots": 1}}, "at least one level's size"),
        ({"candidate": {"cooldown_s": 5.0}}, "needs an event"),
        ({"candidate": {"no_such_field": 1}}, "no_such_field"),
        ({"symbols": []}, "at least one symbol"),
        ({"symbols": ["BTCUSDT", "BTCUSDT"]}, "listed once"),
        ({"rollout_id": "a.b"}, "rollout id"),
        ({"color": "blue"}, "must differ from blue's"),
    ],
)
def test_each_broken_invariant_is_refused_with_its_reason(
    change: dict[str, Any], reason: str
) -> None:
    reasons = refusal(**change)
    assert any(reason in r for r in reasons), reasons


def test_a_candidate_field_a_symbol_entry_overrides_is_refused() -> None:
    reasons = refusal({"ETHUSDT": {"min_spread_bps": 4.0}})
    assert any("quoter.ETHUSDT sets ['min_spread_bps']" in r for r in reasons), reasons


def test_the_candidate_must_apply_over_every_symbols_blue() -> None:
    tight = BLUE.model_copy(update={"min_spread_bps": 10.0})
    with pytest.raises(RolloutRefusedError) as refused:
        start_state(REQUEST, {"default": BLUE, "ETHUSDT": tight}, {}, None, NOW)
    assert any(r.startswith("ETHUSDT: candidate: min_spread_bps") for r in refused.value.reasons)


def test_a_second_rollout_waits_for_the_first_to_end_and_for_its_cooldown() -> None:
    first = start_state(REQUEST, {"default": BLUE}, {}, None, NOW)
    later = dataclasses.replace(REQUEST, rollout_id="r2")
    with pytest.raises(RolloutRefusedError, match="still ramping"):
        start_state(later, {"default": BLUE}, {}, first, NOW + 1)
    for phase in (ROLLED_BACK, ABORTED):
        ended = msgspec.structs.replace(first, phase=phase, ts_changed_ns=NOW)
        with pytest.raises(RolloutRefusedError, match="cooling down"):
            start_state(later, {"default": BLUE}, {}, ended, NOW + 59 * 10**9)
        assert start_state(later, {"default": BLUE}, {}, ended, NOW + 61 * 10**9).phase == RAMPING


def test_a_new_green_waits_until_the_last_rollouts_green_fills_are_marked_out() -> None:
    # Its green fills' 10 s markouts still arrive as green after it ended; a cooldown shorter
    # than that, or a promotion, must not let the next green be judged on them.
    short = dataclasses.replace(REQUEST, cooldown_s=1)
    first = start_state(short, {"default": BLUE}, {}, None, NOW)
    later = dataclasses.replace(REQUEST, rollout_id="r2")
    for phase in (ROLLED_BACK, ABORTED, PROMOTED):
        ended = msgspec.structs.replace(first, phase=phase, ts_changed_ns=NOW)
        with pytest.raises(RolloutRefusedError, match=r"still being marked out \(10s\)"):
            start_state(later, {"default": BLUE}, {}, ended, NOW + 9 * 10**9)
        assert start_state(later, {"default": BLUE}, {}, ended, NOW + 10 * 10**9).phase == RAMPING


def test_every_reason_is_given_at_once() -> None:
    reasons = refusal(ramp_pct=[50, 25], step_window_s=0, candidate={})
    assert len(reasons) >= 4, reasons

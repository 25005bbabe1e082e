"""The allocator: budget by edge and obligation value, floors, caps, gradual moves."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.allocator import Claim, allocate, weights


def test_the_budget_moves_from_the_toxic_symbol_to_the_benign_one_gradually() -> None:
    claims = {
        "TOXIC": Claim(edge_bps=-4.0, obligation_value=0.0, current=5_000),
        "BENIGN": Claim(edge_bps=2.0, obligation_value=0.0, current=5_000),
    }
    moved = allocate(claims, budget=10_000, floor=1_000, cap=9_000, share=0.5)
    assert moved["TOXIC"] == pytest.approx(3_000)  # halfway to its floor of 1 000
    assert moved["BENIGN"] == pytest.approx(7_000)  # halfway to 9 000
    assert weights(claims) == {"TOXIC": 0.0, "BENIGN": 1.0}


def test_obligation_value_keeps_a_losing_symbol_funded() -> None:
    claims = {
        "OBLIGED": Claim(edge_bps=-1.0, obligation_value=1.0, current=0),
        "OTHER": Claim(edge_bps=1.0, obligation_value=0.0, current=0),
    }
    assert weights(claims) == {"OBLIGED": 0.5, "OTHER": 0.5}


def test_no_weight_anywhere_splits_the_budget_evenly() -> None:
    claims = {s: Claim(None, 0.0, 0.0) for s in ("A", "B")}
    assert allocate(claims, 1_000, 100, 1_000, 1.0) == {"A": 500, "B": 500}


AMOUNTS = st.floats(0, 1e7)
CLAIMS = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D"]),
    st.tuples(st.one_of(st.none(), st.floats(-100, 100)), st.floats(0, 10), AMOUNTS),
    min_size=1,
)


def claims_of(raw: dict[str, tuple[float | None, float, float]]) -> dict[str, Claim]:
    return {s: Claim(edge, value, current) for s, (edge, value, current) in raw.items()}


@given(CLAIMS, AMOUNTS, st.floats(0, 1e6), AMOUNTS, st.floats(0.01, 1))
def test_whatever_the_symbols_hold_the_moved_amounts_never_sum_above_the_budget(
    raw: dict[str, tuple[float | None, float, float]],
    budget: float,
    floor: float,
    cap: float,
    share: float,
) -> None:
    moved = allocate(claims_of(raw), budget, min(floor, cap), cap, share)
    assert set(moved) == set(raw)
    assert sum(moved.values()) <= budget * (1 + 1e-9) + 1e-6


@given(CLAIMS, AMOUNTS, st.floats(0, 1e6), AMOUNTS, st.floats(0.01, 1))
def test_each_symbol_moves_toward_its_target_never_past_it(
    raw: dict[str, tuple[float | None, float, float]],
    budget: float,
    floor: float,
    cap: float,
    share: float,
) -> None:
    claims = claims_of(raw)
    floor = min(floor, cap)
    targets = allocate(claims, budget, floor, cap, 1.0)
    moved = allocate(claims, budget, floor, cap, share)
    for symbol, claim in claims.items():
        low, high = sorted((claim.current, targets[symbol]))
        slack = 1e-9 * max(1.0, high)
        assert low - slack <= moved[symbol] <= high + slack
        if (
            sum(claims[s].current + share * (targets[s] - claims[s].current) for s in claims)
            <= budget
        ):
            rise = share * abs(targets[symbol] - claim.current)  # the step, when within budget
            assert abs(moved[symbol] - claim.current) <= rise + slack


@given(CLAIMS, AMOUNTS, st.floats(0, 1e6), AMOUNTS, st.floats(0.01, 1))
def test_a_symbol_within_its_floor_and_cap_stays_within_them(
    raw: dict[str, tuple[float | None, float, float]],
    budget: float,
    floor: float,
    cap: float,
    share: float,
) -> None:
    floor = min(floor, cap, budget / len(raw))  # the floor the budget can give every symbol
    inside = {s: (e, v, min(max(c, floor), cap)) for s, (e, v, c) in raw.items()}
    if sum(c for _, _, c in inside.values()) > budget:
        return  # over budget already: cutting to the targets is tested above
    moved = allocate(claims_of(inside), budget, floor, cap, share)
    for value in moved.values():
        assert floor * (1 - 1e-9) - 1e-6 <= value <= cap * (1 + 1e-9) + 1e-6


BAD = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 1e300])


@given(CLAIMS, BAD, st.sampled_from(["edge", "value", "current", "budget", "floor", "cap"]))
def test_a_nan_or_absurd_input_moves_nothing(
    raw: dict[str, tuple[float | None, float, float]], bad: float, where: str
) -> None:
    claims = claims_of(raw)
    symbol = next(iter(claims))
    if where in ("edge", "value", "current"):
        field = {"edge": "edge_bps", "value": "obligation_value", "current": "current"}[where]
        if where == "edge" and bad == -1.0:
            bad = -1e5  # a negative edge is a figure; one beyond a whole notional is not
        claims[symbol] = dataclasses.replace(claims[symbol], **{field: bad})
    amounts = {"budget": 1_000.0, "floor": 10.0, "cap": 800.0} | {where: bad}
    assert allocate(claims, amounts["budget"], amounts["floor"], amounts["cap"], 0.5) == {}


def test_a_lowered_budget_cuts_the_rises_first_then_the_falls_reach_their_targets() -> None:
    claims = {
        "UP": Claim(edge_bps=3.0, obligation_value=0.0, current=100),
        "DOWN": Claim(edge_bps=1.0, obligation_value=0.0, current=900),
    }
    # Budget 600: targets UP 450, DOWN 150; halfway would be 275 + 525 = 800, over it.
    moved = allocate(claims, budget=600, floor=0, cap=600, share=0.5)
    assert moved == pytest.approx({"UP": 100, "DOWN": 500})  # UP waits, DOWN falls further
    within = allocate(claims, budget=1_000, floor=0, cap=1_000, share=0.5)
    assert within == pytest.approx({"UP": 100 + 0.5 * 650, "DOWN": 900 - 0.5 * 650})

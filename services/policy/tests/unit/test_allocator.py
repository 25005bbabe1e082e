"""The allocator: budget by edge and obligation value, floors, caps, gradual moves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.allocator import Claim, allocate, weights


def test_the_budget_moves_from_the_toxic_symbol_to_the_benign_one_gradually() -> None:
    claims = {
        "TOXIC": Claim(edge_bps=-4.0, obligation_value=0.0, current_notional=5_000),
        "BENIGN": Claim(edge_bps=2.0, obligation_value=0.0, current_notional=5_000),
    }
    moved = allocate(claims, budget=10_000, floor=1_000, cap=9_000, share=0.5)
    assert moved["TOXIC"] == pytest.approx(3_000)  # halfway to its floor of 1 000
    assert moved["BENIGN"] == pytest.approx(7_000)  # halfway to 9 000
    assert weights(claims) == {"TOXIC": 0.0, "BENIGN": 1.0}


def test_obligation_value_keeps_a_losing_symbol_funded() -> None:
    claims = {
        "OBLIGED": Claim(edge_bps=-1.0, obligation_value=1.0, current_notional=0),
        "OTHER": Claim(edge_bps=1.0, obligation_value=0.0, current_notional=0),
    }
    assert weights(claims) == {"OBLIGED": 0.5, "OTHER": 0.5}


def test_no_weight_anywhere_splits_the_budget_evenly() -> None:
    claims = {s: Claim(None, 0.0, 0.0) for s in ("A", "B")}
    assert allocate(claims, 1_000, 100, 1_000, 1.0) == {"A": 500, "B": 500}


@given(
    st.dictionaries(
        st.sampled_from(["A", "B", "C", "D"]),
        st.tuples(st.one_of(st.none(), st.floats(-100, 100)), st.floats(0, 10)),
        min_size=1,
    ),
    st.floats(0, 1e7),
    st.floats(0, 1e6),
    st.floats(0, 1e7),
)
def test_targets_never_exceed_the_budget_or_a_cap(
    raw: dict[str, tuple[float | None, float]], budget: float, floor: float, cap: float
) -> None:
    claims = {s: Claim(edge, value, 0.0) for s, (edge, value) in raw.items()}
    targets = allocate(claims, budget, min(floor, cap), cap, 1.0)
    assert sum(targets.values()) <= budget * (1 + 1e-9) + 1e-6
    assert all(0 <= t <= cap * (1 + 1e-9) + 1e-6 for t in targets.values())

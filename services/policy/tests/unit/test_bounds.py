"""Property tests: whatever a rule asks for, a written value stays in bounds and in its rate."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from policy.bounds import bounded_move
from policy.params import FieldBounds

NS = 1_000_000_000
anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@st.composite
def bounds(draw: st.DrawFn) -> FieldBounds:
    points = sorted(draw(st.lists(st.floats(0, 1e6), min_size=3, max_size=3)))
    return FieldBounds(
        floor=points[0],
        home=points[1],
        ceiling=points[2],
        max_step=draw(st.floats(1e-3, 1e5)),
        min_interval_s=draw(st.floats(0, 3600)),
    )


@settings(max_examples=2000, deadline=None)
@given(bounds(), st.booleans(), anything, anything, st.integers(0, 10**6))
def test_a_move_always_lands_within_the_bounds_and_its_step(
    limits: FieldBounds, integer: bool, current: object, target: object, now_s: int
) -> None:
    moved = bounded_move(limits, integer, current, target, None, now_s * NS)
    if moved is None:
        return
    assert math.isfinite(moved)
    assert limits.floor <= moved <= limits.ceiling
    if integer:
        assert isinstance(moved, int)
    assert isinstance(current, int | float)
    assert not isinstance(current, bool)
    if limits.floor <= current <= limits.ceiling:
        assert abs(moved - current) <= limits.max_step + 1e-9
        assert moved != current


@settings(max_examples=500, deadline=None)
@given(bounds(), st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 3600))
def test_no_field_changes_again_before_its_interval(
    limits: FieldBounds, current: float, target: float, since_s: float
) -> None:
    assume(since_s < limits.min_interval_s)
    last = 10**6 * NS
    assert bounded_move(limits, False, current, target, last, last + int(since_s * NS)) is None


@given(bounds(), st.sampled_from([math.nan, math.inf, -math.inf]), st.floats(0, 1e6))
def test_a_nan_or_infinite_figure_moves_nothing(
    limits: FieldBounds, bad: float, good: float
) -> None:
    assert bounded_move(limits, False, bad, good, None, 0) is None
    assert bounded_move(limits, False, good, bad, None, 0) is None


def test_a_value_outside_narrowed_bounds_comes_back_to_the_nearest_bound() -> None:
    limits = FieldBounds(floor=2, home=3, ceiling=5, max_step=0.5)
    assert bounded_move(limits, False, 9.0, 9.0, None, 0) == 5
    assert bounded_move(limits, True, 0, 0, None, 0) == 2


def test_an_integer_field_with_no_whole_value_in_its_bounds_is_left_alone() -> None:
    limits = FieldBounds(floor=1.2, home=1.5, ceiling=1.8, max_step=1)
    assert bounded_move(limits, True, 1, 5, None, 0) is None

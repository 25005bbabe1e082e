"""Property test of the toxicity rule: it judges a fill's net edge, with a band in which it holds.

For any markout, fees and thresholds an operator may set: the spread is proposed wider only when
markout plus fees is below the enter threshold, narrower only when it is above the exit
threshold, and never either inside the band; with the markout alone negative but the edge not
below the enter threshold, nothing widens.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from policy.params import FieldBounds, PolicyParams
from policy.rules import FeedView, autopolicy
from policy.signals import Signals

BASE = Signals(
    rows=3,
    newest_end_ns=1,
    fills=40,
    markout_fills=40,
    markout_bps=0.0,
    toxic_share=None,
    reject_share=None,
    amend_failures=0,
    presence=None,
    position_lots=0,
    fee_bps=0.0,
    edge_bps=0.0,
    mid_half_ticks=0,
)
bps = st.floats(-50, 50, allow_nan=False)


@st.composite
def thresholds(draw: st.DrawFn) -> tuple[float, float]:
    enter = draw(st.floats(-10, 10, allow_nan=False))
    return enter, enter + draw(st.floats(0.01, 10, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(bps, bps, thresholds(), st.floats(1, 19, allow_nan=False))
def test_the_spread_moves_only_on_the_side_of_the_band_the_edge_is_on(
    markout: float, fees: float, band: tuple[float, float], spread: float
) -> None:
    enter, exit_ = band
    params = PolicyParams(
        mode="on",
        spread=FieldBounds(floor=1, home=10, ceiling=20, max_step=1),
        edge_enter_bps=enter,
        edge_exit_bps=exit_,
    )
    edge = markout + fees
    signals = dataclasses.replace(BASE, markout_bps=markout, fee_bps=fees, edge_bps=edge)
    values = {"min_spread_bps": spread, "enabled": True}
    proposals = autopolicy(params, signals, values, FeedView(0, None, False))
    moves = [p for p in proposals if p.field == "min_spread_bps"]
    assert len(moves) <= 1
    if edge < enter:
        assert [p.rule for p in moves] == ["toxic_edge"]
        assert moves[0].target > spread  # type: ignore[operator]
    elif edge > exit_ and spread != 10:
        assert [p.rule for p in moves] == ["edge_recovered"]
        assert abs(moves[0].target - 10) < abs(spread - 10)  # type: ignore[operator]
    else:
        assert moves == []


@settings(max_examples=200, deadline=None)
@given(st.floats(-50, -0.001, allow_nan=False), st.floats(0, 50, allow_nan=False))
def test_a_negative_markout_widens_only_when_the_fees_do_not_cover_it(
    markout: float, fees: float
) -> None:
    params = PolicyParams(mode="on")  # the defaults: widen below an edge of 0
    signals = dataclasses.replace(BASE, markout_bps=markout, fee_bps=fees, edge_bps=markout + fees)
    proposals = autopolicy(params, signals, {"min_spread_bps": 2.0}, FeedView(0, None, False))
    widened = any(p.rule == "toxic_edge" for p in proposals)
    assert widened == (markout + fees < 0)

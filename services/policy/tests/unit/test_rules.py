"""The autopolicy's rules on hand-made signals: who speaks, in which direction, and when not."""

from __future__ import annotations

import dataclasses

import pytest

from policy.params import FieldBounds, PolicyParams
from policy.plan import plan_changes
from policy.rules import FeedView, autopolicy
from policy.signals import Signals

PARAMS = PolicyParams(
    mode="on",
    spread=FieldBounds(floor=1, home=2, ceiling=8, max_step=1),
    size=FieldBounds(floor=1, home=4, ceiling=10, max_step=2),
    coverage_target=0.9,
    coverage_exit=0.95,
)
VALUES = {
    "min_spread_bps": 2.0,
    "level_size_lots": 4,
    "refresh_price_ticks": 1,
    "max_inventory_lots": 50,
    "enabled": True,
}
QUIET = FeedView(events=0, quiet_s=None, pulled_by_policy=False)
BASE = Signals(
    rows=3,
    newest_end_ns=1,
    fills=40,
    markout_fills=40,
    markout_bps=-0.4,
    toxic_share=0.3,
    reject_share=0.02,
    amend_failures=0,
    presence=0.97,
    position_lots=0,
    fee_bps=0.5,
    edge_bps=0.1,  # inside the hysteresis band (0, 0.25)
    mid_half_ticks=1_300_000,
)


def flow(markout: float, fees: float, signals: Signals = BASE) -> Signals:
    """`signals` with this markout and these fees, and the edge they make."""
    return dataclasses.replace(signals, markout_bps=markout, fee_bps=fees, edge_bps=markout + fees)


def wishes(signals: Signals | None, values: dict[str, object] = VALUES) -> dict[str, object]:
    return {p.field: p.target for p in autopolicy(PARAMS, signals, values, QUIET)}


def test_fills_whose_markout_loses_more_than_the_rebate_widen_and_shrink() -> None:
    assert wishes(flow(-0.6, 0.5)) == {"min_spread_bps": 2.5, "level_size_lots": 3}


def test_a_negative_markout_the_rebate_covers_is_not_toxic() -> None:
    assert wishes(flow(-0.45, 0.5)) == {}
    widened = {**VALUES, "min_spread_bps": 4.0, "level_size_lots": 2}
    assert wishes(flow(-0.2, 0.5), widened) == {"min_spread_bps": 3.5, "level_size_lots": 3}


def test_a_positive_markout_that_pays_a_taker_fee_can_still_be_toxic() -> None:
    assert wishes(flow(0.3, -0.55)) == {"min_spread_bps": 2.5, "level_size_lots": 3}


def test_the_decision_says_what_the_edge_was_made_of() -> None:
    (widen, _) = autopolicy(PARAMS, flow(-0.6, 0.5), VALUES, QUIET)
    assert widen.rule == "toxic_edge"
    assert widen.detail == "10s edge -0.10 bps (markout -0.60 + fees 0.50) below 0.0: widen"


def test_inside_the_hysteresis_band_no_rule_speaks() -> None:
    widened = {**VALUES, "min_spread_bps": 4.0, "level_size_lots": 2}
    assert wishes(BASE, widened) == {}


def test_a_recovered_edge_brings_spread_and_size_back_toward_home() -> None:
    benign = flow(1.0, 0.5)
    widened = {**VALUES, "min_spread_bps": 4.0, "level_size_lots": 2}
    assert wishes(benign, widened) == {"min_spread_bps": 3.5, "level_size_lots": 3}


def test_too_few_fills_to_measure_leave_the_markout_rules_silent() -> None:
    thin = dataclasses.replace(flow(-30.0, 0.5), markout_fills=2)
    assert wishes(thin) == {}


def test_amend_failures_back_off_the_refresh_and_recover_toward_home() -> None:
    assert wishes(dataclasses.replace(BASE, reject_share=0.2)) == {"refresh_price_ticks": 2}
    calm = dataclasses.replace(BASE, reject_share=0.0)
    assert wishes(calm, {**VALUES, "refresh_price_ticks": 3}) == {"refresh_price_ticks": 2}


def test_low_coverage_adds_size_only_while_inventory_has_room() -> None:
    thin = dataclasses.replace(BASE, presence=0.5)
    assert wishes(thin) == {"level_size_lots": 5}
    loaded = dataclasses.replace(thin, position_lots=40)
    assert wishes(loaded) == {}


def test_an_unreliable_feed_pulls_the_symbol_and_quiet_puts_it_back() -> None:
    noisy = FeedView(events=3, quiet_s=1.0, pulled_by_policy=False)
    assert [p.target for p in autopolicy(PARAMS, None, VALUES, noisy)] == [False]
    pulled = {**VALUES, "enabled": False}
    quiet = FeedView(events=0, quiet_s=900.0, pulled_by_policy=True)
    assert [p.target for p in autopolicy(PARAMS, None, pulled, quiet)] == [True]
    by_hand = FeedView(events=0, quiet_s=900.0, pulled_by_policy=False)
    assert autopolicy(PARAMS, None, pulled, by_hand) == []


def test_stale_inputs_hold_every_kpi_rule() -> None:
    assert wishes(None) == {}


def test_a_pinned_field_is_left_alone_and_said_so() -> None:
    proposals = autopolicy(PARAMS, flow(-3.0, 0.5), VALUES, QUIET)
    changes, skipped = plan_changes(PARAMS, proposals, VALUES, {"min_spread_bps"}, {}, 0)
    assert [c.field for c in changes] == ["level_size_lots"]
    assert len(skipped) == 1
    assert skipped[0].startswith("min_spread_bps pinned")


def test_hysteresis_thresholds_that_cross_are_refused() -> None:
    with pytest.raises(ValueError, match="edge_enter_bps"):
        PolicyParams(edge_enter_bps=1.0, edge_exit_bps=0.0)
    with pytest.raises(ValueError, match="hysteresis"):
        PolicyParams(edge_enter_bps=0.5, edge_exit_bps=0.5)


def test_the_old_markout_thresholds_are_refused_rather_than_read_as_edge() -> None:
    with pytest.raises(ValueError, match="toxic_enter_bps"):
        PolicyParams.model_validate({"toxic_enter_bps": -0.5})


VOLATILE = PolicyParams.model_validate(
    {**PARAMS.model_dump(), "vola_enter_ratio": 2.0, "vola_exit_ratio": 1.25}
)


def regime(short: float, base: float, signals: Signals = BASE) -> Signals:
    return dataclasses.replace(signals, volatility_bps=short, volatility_baseline_bps=base)


def vola_wishes(signals: Signals, values: dict[str, object] = VALUES) -> dict[str, object]:
    return {p.field: (p.rule, p.target) for p in autopolicy(VOLATILE, signals, values, QUIET)}


def test_the_volatility_regime_is_off_unless_the_operator_sets_its_ratio() -> None:
    assert PolicyParams().vola_enter_ratio is None
    assert wishes(regime(9.0, 1.0)) == {}


def test_a_volatility_regime_above_its_baseline_widens_and_shrinks() -> None:
    assert vola_wishes(regime(2.5, 1.0)) == {
        "min_spread_bps": ("volatility_regime", 2.5),
        "level_size_lots": ("volatility_regime", 3),
    }


def test_toxic_fills_speak_before_the_volatility_regime() -> None:
    both = regime(2.5, 1.0, flow(-0.6, 0.5))
    assert {rule for rule, _ in vola_wishes(both).values()} == {"toxic_edge"}


def test_spread_and_size_return_home_only_once_the_regime_is_calm_too() -> None:
    widened = {**VALUES, "min_spread_bps": 4.0, "level_size_lots": 2}
    assert vola_wishes(regime(1.5, 1.0, flow(1.0, 0.5)), widened) == {}  # inside (1.25, 2)
    calm = vola_wishes(regime(1.0, 1.0, flow(1.0, 0.5)), widened)
    assert calm == {
        "min_spread_bps": ("edge_recovered", 3.5),
        "level_size_lots": ("edge_recovered", 3),
    }


def test_an_unmeasured_regime_neither_widens_nor_blocks_the_way_home() -> None:
    widened = {**VALUES, "min_spread_bps": 4.0}
    unmeasured = dataclasses.replace(flow(1.0, 0.5), volatility_bps=None)
    assert vola_wishes(unmeasured, widened)["min_spread_bps"] == ("edge_recovered", 3.5)
    assert vola_wishes(regime(5.0, 0.0)) == {}


def test_crossing_volatility_ratios_or_a_baseline_within_the_window_are_refused() -> None:
    with pytest.raises(ValueError, match="vola_exit_ratio"):
        PolicyParams(vola_enter_ratio=1.5, vola_exit_ratio=1.5)
    with pytest.raises(ValueError, match="vola_baseline_s"):
        PolicyParams(vola_enter_ratio=2.0, window_s=600, vola_baseline_s=600)

"""Limits: building from KV entries, refusals with reasons, and the restart-only fields."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from risk.config_store import usable_limits
from risk.limits import (
    LIVE_SAFE_FIELDS,
    RESTART_REQUIRED_FIELDS,
    LimitsError,
    RiskLimits,
    build_limits,
    restart_required_changes,
    step_changes,
)


def test_no_entries_gives_consistent_defaults() -> None:
    limits = build_limits({})
    assert limits == RiskLimits()


def test_symbol_entry_overrides_the_default_entry_field_by_field() -> None:
    limits = build_limits(
        {
            "risk.default": json.dumps({"max_position_lots": 500, "max_order_lots": 50}),
            "risk.BTCUSDT": json.dumps({"max_order_lots": 10}),
        }
    )
    btc = limits.for_symbol("BTCUSDT")
    assert (btc.max_position_lots, btc.max_order_lots) == (500, 10)
    assert limits.for_symbol("ETHUSDT").max_order_lots == 50


def test_default_entry_carries_portfolio_and_kill_switch_fields() -> None:
    limits = build_limits({"risk.default": {"max_gross_notional": "30000", "max_rejects": 3}})
    assert limits.portfolio.max_gross_notional == Decimal(30000)
    assert limits.kill_switch.max_rejects == 3


def test_keys_of_other_services_are_ignored() -> None:
    assert build_limits({"quoter.default": b"not even json"}) == RiskLimits()


def test_per_symbol_position_notional_above_portfolio_gross_is_refused_with_reason() -> None:
    with pytest.raises(LimitsError) as caught:
        build_limits(
            {
                "risk.default": {"max_gross_notional": 10_000, "max_net_notional": 5_000},
                "risk.BTCUSDT": {"max_position_notional": 10_001, "max_order_notional": 100},
            }
        )
    assert any(
        "BTCUSDT" in reason and "max_gross_notional" in reason for reason in caught.value.reasons
    )


def test_per_symbol_position_notional_equal_to_portfolio_gross_is_accepted() -> None:
    limits = build_limits(
        {
            "risk.default": {
                "max_gross_notional": 10_000,
                "max_net_notional": 5_000,
                "max_position_notional": 5_000,
            },
            "risk.BTCUSDT": {"max_position_notional": 10_000},
        }
    )
    assert limits.for_symbol("BTCUSDT").max_position_notional == Decimal(10_000)


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"max_net_notional": 60_000}, "max_net_notional"),
        ({"max_window_loss": 1_000, "max_drawdown": 1_000}, "max_window_loss"),
        ({"max_order_lots": 1_001, "max_position_lots": 1_000}, "max_order_lots"),
        ({"max_order_notional": 20_001}, "max_order_notional"),
        ({"max_order_actions": 9, "max_open_orders": 10}, "max_order_actions"),
        (
            {"min_target_interval_ms": 10_000, "order_rate_window_ms": 10_000},
            "order_rate_window_ms",
        ),
        ({"stale_after_ms": 10_000, "md_down_after_ms": 10_000}, "stale_after_ms"),
    ],
)
def test_contradictory_settings_are_refused_naming_the_field(
    fields: dict[str, int], mentions: str
) -> None:
    with pytest.raises(LimitsError) as caught:
        build_limits({"risk.default": fields})
    assert any(mentions in reason for reason in caught.value.reasons)


def test_unknown_field_invalid_json_and_bad_values_are_each_reported() -> None:
    with pytest.raises(LimitsError) as caught:
        build_limits({"risk.default": {"max_positon_lots": 1}})
    assert "max_positon_lots" in str(caught.value)
    with pytest.raises(LimitsError) as caught:
        build_limits({"risk.BTCUSDT": b"{broken"})
    assert "risk.BTCUSDT" in str(caught.value)
    with pytest.raises(LimitsError) as caught:
        build_limits({"risk.BTCUSDT": b"[1, 2]"})
    assert "JSON object" in str(caught.value)
    with pytest.raises(LimitsError) as caught:
        build_limits({"risk.BTCUSDT": {"max_position_lots": -1}})
    assert "max_position_lots" in str(caught.value)


def test_restart_only_and_live_safe_fields_partition_the_model() -> None:
    assert RESTART_REQUIRED_FIELDS.isdisjoint(LIVE_SAFE_FIELDS)
    assert "max_position_lots" in LIVE_SAFE_FIELDS


def test_changing_a_window_length_live_is_refused_but_a_limit_change_is_not() -> None:
    running = build_limits({})
    assert (
        restart_required_changes(running, build_limits({"risk.default": {"max_rejects": 5}})) == []
    )
    reasons = restart_required_changes(
        running, build_limits({"risk.default": {"pnl_window_s": 60}})
    )
    assert len(reasons) == 1
    assert "pnl_window_s" in reasons[0]
    symbol_reasons = restart_required_changes(
        running, build_limits({"risk.BTCUSDT": {"order_rate_window_ms": 20_000}})
    )
    assert any("BTCUSDT" in reason for reason in symbol_reasons)


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"max_drawdown": 1e15}, "max_drawdown"),
        ({"max_position_notional": "NaN"}, "max_position_notional"),
        ({"max_gross_notional": "Infinity"}, "max_gross_notional"),
        ({"price_band_bps": 10_000}, "price_band_bps"),
        ({"executor_heartbeat_timeout_ms": 11 * 86_400_000}, "executor_heartbeat_timeout_ms"),
        ({"stale_after_ms": 3_600_000}, "stale_after_ms"),
    ],
)
def test_limits_outside_their_bounds_are_refused_even_at_start(
    fields: dict[str, object], mentions: str
) -> None:
    with pytest.raises(LimitsError, match=mentions):
        build_limits({"risk.default": fields})


def test_loosening_beyond_a_step_is_refused_but_tightening_is_not() -> None:
    running = build_limits({})
    loose = build_limits({"risk.BTCUSDT": {"max_order_lots": 500}})
    (reason,) = step_changes(running, loose)
    assert reason.startswith("symbols.BTCUSDT: max_order_lots may rise at most 2x")
    assert step_changes(running, build_limits({"risk.default": {"max_order_lots": 1}})) == []


def test_usable_limits_keep_the_good_entries_and_name_the_poisoned_ones() -> None:
    entries = {
        "risk.default": b'{"max_drawdown": 1e15}',
        "risk.BTCUSDT": b'{"max_order_lots": 7}',
        "risk.ETHUSDT": b"{garbage",
    }
    limits, refused = usable_limits(entries)
    assert sorted(refused) == ["risk.ETHUSDT", "risk.default"]
    assert limits.kill_switch.max_drawdown == Decimal(1_000)
    assert limits.for_symbol("BTCUSDT").max_order_lots == 7

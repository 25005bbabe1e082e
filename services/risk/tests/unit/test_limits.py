"""Limits: building from KV entries, refusals with reasons, and the restart-only fields."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from mm_runtime.live_config import LiveConfig
from risk.limits import (
    LIVE_SAFE_FIELDS,
    RESTART_REQUIRED_FIELDS,
    SPEC,
    LimitsError,
    RiskConfig,
    RiskLimits,
    build_limits,
    limits_of,
)


async def running_risk(entries: dict[str, bytes] | None = None) -> LiveConfig[RiskConfig]:
    """Risk's live config as it stands after starting with `entries` in the bucket."""
    config = LiveConfig(SPEC, RiskConfig())
    for key, value in (entries or {}).items():
        await config.receive(key, value)
    await config.settle()
    config.go_live()
    return config


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


async def test_changing_a_window_length_live_is_refused_but_a_limit_change_is_not() -> None:
    config = await running_risk()
    assert config.vet("risk.default", b'{"max_rejects": 5}') == []
    (reason,) = config.vet("risk.default", b'{"pnl_window_s": 60}')
    assert reason.startswith("pnl_window_s needs a restart")
    (symbol_reason,) = config.vet("risk.BTCUSDT", b'{"order_rate_window_ms": 20000}')
    assert "order_rate_window_ms needs a restart" in symbol_reason


async def test_a_window_length_written_live_keeps_its_running_value_and_the_rest_applies() -> None:
    config = await running_risk()
    await config.receive("risk.default", b'{"pnl_window_s": 60, "max_rejects": 5}')
    limits = limits_of(config.values)
    assert (limits.kill_switch.pnl_window_s, limits.kill_switch.max_rejects) == (300, 5)
    assert "pnl_window_s needs a restart" in config.status()["config_refused.risk.default"]


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


async def test_loosening_beyond_a_step_is_refused_but_tightening_is_not() -> None:
    config = await running_risk()
    (reason,) = config.vet("risk.BTCUSDT", b'{"max_order_lots": 500}')
    assert reason.startswith("BTCUSDT: max_order_lots may rise at most 2x")
    assert config.vet("risk.default", b'{"max_order_lots": 1}') == []
    await config.receive("risk.BTCUSDT", b'{"max_order_lots": 500}')
    assert limits_of(config.values) == RiskLimits()  # refused whole, nothing changed


async def test_at_start_the_good_entries_apply_and_the_poisoned_ones_are_named() -> None:
    entries = {
        "risk.ETHUSDT": b"{garbage",
        "risk.BTCUSDT": b'{"max_order_lots": 7}',
        "risk.default": b'{"max_drawdown": 1e15}',
    }
    config = await running_risk(entries)
    assert sorted(config.refused) == ["risk.ETHUSDT", "risk.default"]
    limits = limits_of(config.values)
    assert limits.kill_switch.max_drawdown == Decimal(1_000)
    assert limits.for_symbol("BTCUSDT").max_order_lots == 7


async def test_the_default_entry_applies_first_at_start_so_a_symbol_entry_cannot_poison_it() -> (
    None
):
    entries = {
        "risk.BTCUSDT": b'{"max_order_lots": 40}',  # only valid under the default's old limits
        "risk.default": b'{"max_position_lots": 30, "max_order_lots": 20}',
    }
    config = await running_risk(entries)
    assert list(config.refused) == ["risk.BTCUSDT"]
    assert limits_of(config.values).default.max_position_lots == 30

"""A declared step limits how far one live change moves a value, in the direction declared."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mm_runtime.live_steps import MaxStep, step_refusals


def test_a_rise_beyond_the_factor_is_refused_with_the_running_value_and_the_ceiling() -> None:
    reason = MaxStep(up=2.0).refusal("max_inventory", 0.5, 3.0)
    assert reason is not None
    assert "running 0.5" in reason
    assert "at most 1 now" in reason
    assert MaxStep(up=2.0).refusal("max_inventory", 0.5, 1.0) is None


def test_the_undeclared_direction_is_free_so_tightening_always_passes() -> None:
    assert MaxStep(up=2.0).refusal("max_position_lots", 1_000, 1) is None
    assert MaxStep(down=2.0).refusal("min_spread_bps", 2.0, 200.0) is None
    assert MaxStep(down=2.0).refusal("min_spread_bps", 2.0, 0.5) is not None


def test_an_absolute_allowance_lets_a_value_leave_zero() -> None:
    assert MaxStep(up=2.0, absolute=10).refusal("max_order_lots", 0, 10) is None
    assert MaxStep(up=2.0, absolute=10).refusal("max_order_lots", 0, 11) is not None


def test_decimals_and_tables_are_checked_field_by_field() -> None:
    steps = {"max_drawdown": MaxStep(up=2.0), "enabled": MaxStep(up=2.0)}
    before = {"max_drawdown": Decimal(1_000), "enabled": True}
    after = {"max_drawdown": Decimal("1E15"), "enabled": False}
    (reason,) = step_refusals(steps, before, after)
    assert reason.startswith("max_drawdown may rise at most 2x")


def test_a_factor_that_cannot_step_is_refused() -> None:
    with pytest.raises(ValueError, match="above 1"):
        MaxStep(up=1.0)

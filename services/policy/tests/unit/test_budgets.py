"""The allocator's three budgets as quoter fields: inventory, gross notional and order rate."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mm_proto import Grid
from policy.budgets import (
    INVENTORY,
    REQUOTE,
    SIZE,
    Holding,
    allocation,
    gross_ceilings,
    ladder_lots,
    requote_interval_ms,
    values_ladder_lots,
    within_gross,
)
from policy.params import Budget, FieldBounds, PolicyParams
from policy.plan import plan_changes
from policy.rules import Proposal
from policy.signals import Signals

ETH = Grid("ETHUSDT", Decimal("0.01"), Decimal("0.01"), min_qty_lots=1, min_notional=Decimal(5))
BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_qty_lots=1, min_notional=Decimal(5))
SIGNALS = Signals(
    rows=3,
    newest_end_ns=1,
    fills=40,
    markout_fills=40,
    markout_bps=-0.4,
    toxic_share=0.3,
    reject_share=0.0,
    amend_failures=0,
    presence=0.97,
    position_lots=0,
    fee_bps=0.5,
    edge_bps=0.1,
    mid_half_ticks=600_000,  # ETHUSDT at 3 000: one lot (0.01) is 30 USDT
)
VALUES = {SIZE: 2, INVENTORY: 10, "levels": 2, "level_size_multiplier": 1.5, REQUOTE: 0}
PORTFOLIO = PolicyParams(
    mode="on",
    allocator=True,
    budget_notional=1_500,
    symbol_floor_notional=150,
    symbol_cap_notional=1_350,
    rebalance_share=1.0,
    gross=Budget(total=3_000, symbol_floor=300, symbol_cap=2_700),
    order_rate=Budget(total=8, symbol_floor=1, symbol_cap=7),
)


def two_flows(toxic_values: dict[str, object] = VALUES) -> dict[str, Holding]:
    toxic = dataclasses.replace(SIGNALS, edge_bps=-1.0)
    benign = dataclasses.replace(SIGNALS, edge_bps=1.0, mid_half_ticks=1_200_000)
    return {
        "ETHUSDT": Holding(toxic, ETH, toxic_values),
        "BTCUSDT": Holding(benign, BTC, VALUES),
    }


def wish(done_wishes: list[Proposal], name: str) -> object:
    [proposal] = [p for p in done_wishes if p.field == name]
    return proposal.target


def test_the_ladder_on_one_side_follows_the_quoters_size_schedule() -> None:
    assert ladder_lots(2, 2, 1.5) == 2 + 3
    assert ladder_lots(3, 3, 1.0) == 9
    assert values_ladder_lots(VALUES) == 5


def test_an_order_rate_share_becomes_the_least_interval_between_requotes() -> None:
    assert requote_interval_ms(10.0, 1) == 200  # 2 actions per requote, 10/s: one per 200 ms
    assert requote_interval_ms(7.0, 2) == 572  # 4 actions, rounded up: never above the share
    done = allocation(PORTFOLIO, {s: PORTFOLIO for s in ("ETHUSDT", "BTCUSDT")}, two_flows())
    assert wish(done.wishes["ETHUSDT"], REQUOTE) == requote_interval_ms(1.0, 2)  # its floor
    assert wish(done.wishes["BTCUSDT"], REQUOTE) == requote_interval_ms(7.0, 2)  # its cap


def test_the_toxic_symbols_gross_share_shrinks_a_ladder_too_large_for_it() -> None:
    big = {**VALUES, SIZE: 8}  # 8 + 12 lots a side, 20 + 10 inventory: 900 USDT
    done = allocation(PORTFOLIO, {s: PORTFOLIO for s in ("ETHUSDT", "BTCUSDT")}, two_flows(big))
    assert done.gross_lots["ETHUSDT"] == 10  # its floor, 300 USDT, is 10 lots of 30 USDT
    size = wish(done.wishes["ETHUSDT"], SIZE)
    assert isinstance(size, int)
    assert values_ladder_lots(big, size) + size <= 10
    assert done.gross_lots["BTCUSDT"] == 45  # 2 700 USDT at 60 USDT a lot
    assert [p.field for p in done.wishes["BTCUSDT"]] == [INVENTORY, REQUOTE]


def test_no_rise_of_size_or_inventory_passes_the_gross_ceiling() -> None:
    values = {**VALUES, SIZE: 2, INVENTORY: 10}  # ladder 5 + 10 = 15
    ceilings = gross_ceilings(values, 16, gross_on=True)
    assert ceilings == {SIZE: 2, INVENTORY: 11}
    assert gross_ceilings(values, None, gross_on=True) == {SIZE: 2, INVENTORY: 10}  # not yet known
    assert gross_ceilings(values, None, gross_on=False) == {}


SIZES = st.integers(1, 200)
VALUES_ST = st.fixed_dictionaries(
    {
        SIZE: SIZES,
        INVENTORY: st.integers(1, 2_000),
        "levels": st.integers(1, 5),
        "level_size_multiplier": st.sampled_from([1.0, 1.5, 2.0]),
    }
)
WIDE = PolicyParams(
    mode="on",
    size=FieldBounds(floor=1, home=1, ceiling=1_000, max_step=50, min_interval_s=0),
    inventory=FieldBounds(floor=1, home=10, ceiling=5_000, max_step=500, min_interval_s=0),
)


@given(VALUES_ST, st.integers(0, 3_000), SIZES, st.integers(0, 5_000), st.booleans())
def test_a_decision_never_takes_a_symbol_within_its_gross_ceiling_past_it(
    values: dict[str, object], gross: int, size: int, inventory: int, inventory_first: bool
) -> None:
    proposals = [
        Proposal("obligation_coverage", SIZE, size, ""),
        Proposal("allocator", INVENTORY, inventory, ""),
    ]
    if inventory_first:
        proposals.reverse()
    ceilings = gross_ceilings(values, gross, gross_on=True)
    planned, _ = plan_changes(WIDE, proposals, values, set(), {}, 0, ceilings)
    kept = within_gross(planned, values, gross)
    after = values | {change.field: change.new for change in kept}
    before_fits = values_ladder_lots(values) + int(str(values[INVENTORY])) <= gross
    after_worst = values_ladder_lots(after) + int(str(after[INVENTORY]))
    if before_fits:
        assert after_worst <= gross
    for change in kept:
        if change.new > change.old:  # type: ignore[operator]
            assert change.new <= ceilings[change.field]  # type: ignore[operator]
    assert all(change in planned for change in kept)  # a change is dropped, never invented


@given(
    st.lists(
        st.tuples(
            st.floats(-50, 50), st.integers(1, 500), st.integers(1, 200), st.integers(0, 60_000)
        ),
        min_size=1,
        max_size=4,
    ),
    st.floats(0.05, 1),
)
def test_every_budget_shared_sums_within_its_total(
    symbols: list[tuple[float, int, int, int]], share: float
) -> None:
    portfolio = PORTFOLIO.model_copy(update={"rebalance_share": share})
    holdings = {}
    for index, (edge, inventory, size, interval) in enumerate(symbols):
        values = {**VALUES, SIZE: size, INVENTORY: inventory, REQUOTE: interval}
        signals = dataclasses.replace(SIGNALS, edge_bps=edge, mid_half_ticks=600_000 + index)
        holdings[f"S{index}"] = Holding(signals, ETH, values)
    done = allocation(portfolio, {s: portfolio for s in holdings}, holdings)
    lots = {s: wish(done.wishes[s], INVENTORY) for s in holdings}
    one_lot = {
        s: float(ETH.notional(Decimal(h.signals.mid_half_ticks) / 2, 1))
        for s, h in holdings.items()
    }
    # Rounded down to whole lots, whatever the symbols hold now:
    assert sum(lots[s] * one_lot[s] for s in holdings) <= portfolio.budget_notional + 1e-6  # type: ignore[operator]
    assert portfolio.gross is not None
    assert portfolio.order_rate is not None
    assert sum(done.gross_lots[s] * one_lot[s] for s in holdings) <= portfolio.gross.total + 1e-6
    rates = [4_000 / wish(done.wishes[s], REQUOTE) for s in holdings]  # type: ignore[operator]
    assert sum(rates) <= portfolio.order_rate.total + 1e-9


def test_an_order_rate_budget_above_the_venues_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="venue's limit of 10"):
        PolicyParams(order_rate=Budget(total=12, symbol_cap=5))
    with pytest.raises(ValidationError, match="symbol_floor"):
        Budget(total=10, symbol_floor=6, symbol_cap=5)
    assert PolicyParams(order_rate=Budget(total=10, symbol_cap=10)).order_rate is not None

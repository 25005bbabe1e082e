"""The one Grid: exact notional and minimum order size from the venue's definition."""

import random
from decimal import Decimal

import msgspec
import pytest

from mm_proto import Grid, InstrumentDefinition
from mm_proto.examples import example_instrument

BTC = example_instrument()  # tick 0.10, lot 0.001, min notional 5


def grid_of(**changes: object) -> Grid:
    definition: InstrumentDefinition = msgspec.structs.replace(BTC, **changes)
    return definition.grid()


def test_grid_carries_the_definitions_tick_lot_minimums_and_status() -> None:
    grid = BTC.grid()
    assert (grid.symbol, grid.status, grid.trading) == ("BTCUSDT", "Trading", True)
    assert (grid.tick_size, grid.lot_size, grid.min_notional) == (
        Decimal("0.10"),
        Decimal("0.001"),
        Decimal(5),
    )
    assert (grid.min_qty_lots, grid.max_qty_lots) == (1, 1_190_000)


def test_a_status_other_than_trading_is_not_trading() -> None:
    assert not grid_of(status="Settling").trading


def test_notional_is_exact_where_floats_are_not() -> None:
    grid = grid_of(tick_size="0.1", lot_size="0.1")
    # 0.1 * 3 * 0.1 is 0.030000000000000006 in floats
    assert grid.notional(1, 3) == Decimal("0.03")
    assert BTC.grid().notional(650001, 3) == Decimal("195.0003")


def test_notional_keeps_every_digit_of_a_large_value() -> None:
    grid = grid_of(tick_size="0.0001", lot_size="0.00000001")
    biggest = 2**63 - 1
    exact = Decimal("85070591730234615847396907.784232501249")  # 38 digits
    assert grid.notional(biggest, biggest) == exact
    assert grid.notional(Decimal(biggest) - Decimal("0.5"), 1) == Decimal("9223372.0368547758065")


def test_notional_takes_a_half_tick_mid_and_signed_sizes() -> None:
    assert BTC.grid().notional(Decimal("650000.5"), -2) == Decimal("-130.0001")


def test_notional_matches_decimal_arithmetic_on_random_grids() -> None:
    rng = random.Random(7)
    for _ in range(500):
        tick = Decimal(rng.randint(1, 999)).scaleb(-rng.randint(0, 8))
        lot = Decimal(rng.randint(1, 999)).scaleb(-rng.randint(0, 8))
        grid = grid_of(tick_size=str(tick), lot_size=str(lot))
        size = rng.randint(-(10**6), 10**6)
        ticks = rng.randint(1, 10**9)
        fraction = Decimal(rng.choice(["0", "0.5", "0.25", "0.001"]))
        for price in (ticks, Decimal(ticks) + fraction):
            expected = Decimal(price) * tick * Decimal(size) * lot  # 28 digits: enough here
            assert grid.notional(price, size) == expected, (price, size, tick, lot)


def test_min_lots_is_the_min_notional_rounded_up_to_a_whole_lot() -> None:
    grid = BTC.grid()
    assert grid.min_lots(650000) == 1  # one lot is worth 65
    assert grid.min_lots(10) == 5000  # 1.0 per lot * 0.001 -> 5 needs 5000 lots
    # exactly on the minimum: 5 / (50000 ticks * 0.1 * 0.001) = 1 lot, no epsilon needed
    assert grid.min_lots(50000) == 1
    assert grid.min_lots(49999) == 2


def test_min_lots_respects_the_minimum_quantity() -> None:
    grid = grid_of(min_qty_lots=40, min_notional="1")
    assert grid.min_lots(650000) == 40


def test_min_lots_with_a_min_notional_finer_than_the_grid_rounds_up() -> None:
    grid = grid_of(tick_size="1", lot_size="1", min_notional="2.5")
    assert grid.min_lots(1) == 3
    assert grid.notional(1, 3) >= Decimal("2.5") > grid.notional(1, 2)


def test_min_lots_is_at_least_one_lot_without_minimums() -> None:
    assert grid_of(min_qty_lots=0, min_notional="0").min_lots(650000) == 1


def test_lots_within_is_the_most_lots_that_fit_a_notional() -> None:
    grid = BTC.grid()
    assert grid.lots_within(Decimal(130), 650000) == 2
    assert grid.lots_within(Decimal("129.99"), 650000) == 1
    assert grid.lots_within(Decimal(0), 650000) == 0


def test_lots_rounds_a_base_coin_quantity_down_to_whole_lots() -> None:
    assert BTC.grid().lots(Decimal("0.0029")) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tick_size": Decimal(0)}, "tick_size must be a positive decimal"),
        ({"lot_size": Decimal("-0.1")}, "lot_size must be a positive decimal"),
        ({"tick_size": Decimal("NaN")}, "tick_size must be a positive decimal"),
        ({"min_notional": Decimal(-1)}, "min_notional must be >= 0"),
        ({"min_qty_lots": 10, "max_qty_lots": 5}, "min_qty_lots must be between 0 and"),
    ],
)
def test_an_invalid_grid_is_refused_with_the_field_named(
    changes: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "symbol": "BTCUSDT",
        "status": "Trading",
        "tick_size": Decimal("0.1"),
        "lot_size": Decimal("0.001"),
    }
    with pytest.raises(ValueError, match=message):
        Grid(**{**fields, **changes})  # type: ignore[arg-type]

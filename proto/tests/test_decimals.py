"""Exact conversion between venue decimal strings and integer ticks and lots."""

import decimal
import random
import re
from decimal import Decimal

import msgspec
import pytest

from mm_proto import FeeSchedule, InstrumentDefinition, decimals
from mm_proto.examples import example_instrument

BTC = example_instrument()  # tick 0.10, lot 0.001


def on_grid(tick_size: str, lot_size: str = "0.001") -> InstrumentDefinition:
    return msgspec.structs.replace(BTC, tick_size=tick_size, lot_size=lot_size)


@pytest.mark.parametrize(
    ("text", "ticks"),
    [
        ("65000.10", 650001),
        ("65000.1", 650001),
        ("65000", 650000),
        ("0", 0),
        ("0.0", 0),
        ("0.00000", 0),
        ("0e-1000", 0),
        ("0.1", 1),
        ("65000.100000000000000000000000000", 650001),
        ("6.50001E4", 650001),
        ("1e3", 10000),
        ("1E+3", 10000),
        ("922337203685477580.7", 2**63 - 1),
    ],
)
def test_prices_on_the_tick_grid_convert_exactly(text: str, ticks: int) -> None:
    assert BTC.price_to_ticks(text) == ticks


@pytest.mark.parametrize(
    "text",
    ["65000.15", "65000.01", "0.05", "65000.100000000000000000000000001", "1e-30", "1e-99999"],
)
def test_prices_off_the_tick_grid_are_refused_naming_value_and_tick(text: str) -> None:
    with pytest.raises(ValueError, match=rf"multiple of tick size 0\.10, was {text}") as raised:
        BTC.price_to_ticks(text)
    assert str(raised.value).startswith("price must be")


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "-inf", "Infinity", "-NaN"])
def test_non_finite_prices_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=rf"price must be a finite number, was '{text}'"):
        BTC.price_to_ticks(text)


@pytest.mark.parametrize("text", ["-1", "-0", "-0.10", "-1e3"])
def test_negative_prices_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=rf"price must not be negative, was '{text}'"):
        BTC.price_to_ticks(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", " 1", "1 ", "1_000", "+1", "1.", ".5", "0x10", "abc", "1e", "1,5", "1.2.3", "\u0661"],
)
def test_malformed_prices_are_refused(text: str) -> None:
    expected = "price must be a plain decimal string like '65000.10', was " + repr(text)
    with pytest.raises(ValueError, match=re.escape(expected)):
        BTC.price_to_ticks(text)


@pytest.mark.parametrize("value", [65000.1, 650001, None, b"1"])
def test_prices_that_are_not_strings_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="price must be a decimal string"):
        BTC.price_to_ticks(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("922337203685477580.8", "at most 9223372036854775807"),
        ("9" * 30, "at most 9223372036854775807"),
        ("1e41", "below 1e41"),
        ("1e999999999", "below 1e41"),
        ("1" * 65, "at most 64 characters"),
    ],
)
def test_huge_prices_are_refused(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        BTC.price_to_ticks(text)


def test_ticks_are_written_with_the_tick_sizes_decimals() -> None:
    assert BTC.ticks_to_price(650001) == "65000.10"
    assert BTC.ticks_to_price(0) == "0.00"
    assert on_grid("0.5").ticks_to_price(3) == "1.5"
    assert on_grid("1").ticks_to_price(65000) == "65000"
    assert on_grid("1E+1").ticks_to_price(3) == "30"
    assert on_grid("0.0001").ticks_to_price(2**63 - 1) == "922337203685477.5807"


@pytest.mark.parametrize("ticks", [-1, 2**63, True, 1.0, "1"])
def test_invalid_tick_counts_are_refused(ticks: object) -> None:
    with pytest.raises(ValueError, match="price ticks must be"):
        BTC.ticks_to_price(ticks)  # type: ignore[arg-type]


def test_quantities_convert_on_the_lot_grid() -> None:
    assert BTC.qty_to_lots("0.001") == 1
    assert BTC.qty_to_lots("1.5") == 1500
    assert BTC.lots_to_qty(1500) == "1.500"
    assert BTC.lots_to_qty(1) == "0.001"
    with pytest.raises(ValueError, match=r"qty must be a multiple of lot size 0\.001, was 0\.0015"):
        BTC.qty_to_lots("0.0015")
    with pytest.raises(ValueError, match="size lots must be between 0"):
        BTC.lots_to_qty(-1)


@pytest.mark.parametrize("tick_size", ["0.10", "0.5", "0.0001", "1", "25", "0.00000001", "1E+1"])
def test_ticks_round_trip_through_price_strings_on_every_grid(tick_size: str) -> None:
    instrument = on_grid(tick_size)
    generator = random.Random(tick_size)
    for ticks in [0, 1, 2**63 - 1, *(generator.randrange(2**40) for _ in range(200))]:
        price = instrument.ticks_to_price(ticks)
        assert instrument.price_to_ticks(price) == ticks
        assert Decimal(price) == ticks * Decimal(tick_size)


def test_notional_is_exact_price_times_quantity() -> None:
    assert BTC.notional(650001, 10) == Decimal("650.001")
    assert isinstance(BTC.notional(650001, 10), Decimal)
    with decimal.localcontext(prec=100):  # the default 28 digits would round the expectation
        expected = Decimal("922337203685477.5807") * Decimal("92233720368.54775807")
    assert on_grid("0.0001", "0.00000001").notional(2**63 - 1, 2**63 - 1) == expected


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"tick_size": "0"}, "tick_size must be greater than zero, was '0'"),
        ({"tick_size": "-0.1"}, "tick_size must not be negative"),
        ({"lot_size": "NaN"}, "lot_size must be a finite number"),
        ({"min_notional": "5 USDT"}, "min_notional must be a plain decimal"),
        ({"min_qty_lots": 10, "max_qty_lots": 5}, "min_qty_lots must be between 0 and"),
    ],
)
def test_an_instrument_with_an_invalid_grid_cannot_be_built(
    changes: dict[str, object], complaint: str
) -> None:
    fields = {field: getattr(BTC, field) for field in BTC.__struct_fields__}
    with pytest.raises(ValueError, match=complaint):
        InstrumentDefinition(**{**fields, **changes})


def test_step_decimals_follow_the_written_step() -> None:
    assert decimals.step_decimals("0.10", step_name="tick size") == 2
    assert decimals.step_decimals("0.001", step_name="lot size") == 3
    assert decimals.step_decimals("5", step_name="tick size") == 0


def test_a_fee_rate_may_be_negative_but_not_malformed() -> None:
    rebate = FeeSchedule(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        maker_fee_rate="-0.00005",
        taker_fee_rate="0.00055",
        ts_loaded_ns=1,
    )
    assert rebate.maker_fee_rate == "-0.00005"
    for bad in ("--0.1", "-nan", "nan", "-", "0.1%"):
        with pytest.raises(ValueError, match="maker_fee_rate"):
            FeeSchedule(
                venue="bybit",
                category="linear",
                symbol="BTCUSDT",
                maker_fee_rate=bad,
                taker_fee_rate="0",
                ts_loaded_ns=1,
            )


def test_written_texts_are_remembered_and_bad_units_are_still_refused_each_time() -> None:
    first = decimals.from_units(650001, "0.10", what="price ticks", step_name="tick size")
    again = decimals.from_units(650001, "0.10", what="price ticks", step_name="tick size")
    assert first == again == "65000.10"
    for bad in (-1, True, 2**63):
        with pytest.raises(ValueError, match="price ticks"):
            decimals.from_units(bad, "0.10", what="price ticks", step_name="tick size")
    assert decimals.from_units(1, "0.10", what="price ticks", step_name="tick size") == "0.10"

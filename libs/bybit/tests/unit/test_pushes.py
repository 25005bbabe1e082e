"""Venue order and position states become ticks and lots once, each with an id of its state."""

from __future__ import annotations

import pytest

from mm_bybit import raw
from mm_bybit.convert import ConversionError, order_event_from_order
from mm_bybit.pushes import order_push, position_push, venue_order_from_raw
from mm_proto import OrderAccepted, OrderFilled, Side
from mm_proto.examples import example_instrument

INSTRUMENT = example_instrument()  # BTCUSDT linear: tick 0.10, lot 0.001

PARTLY_FILLED = raw.Order(
    symbol="BTCUSDT",
    order_id="x",
    order_link_id="o1",
    side="Sell",
    price="65000.10",
    qty="0.005",
    cum_exec_qty="0.002",
    leaves_qty="0.003",
    order_status="PartiallyFilled",
    updated_time="1700000000000",
)


def _fields(order: raw.Order) -> dict[str, object]:
    return {name: getattr(order, name) for name in order.__struct_fields__}


def _with(**changes: object) -> raw.Order:
    return raw.Order(**{**_fields(PARTLY_FILLED), **changes})  # type: ignore[arg-type]


def test_raw_order_converts_to_ticks_and_lots_and_bad_values_are_refused() -> None:
    order = PARTLY_FILLED
    venue = venue_order_from_raw(order, INSTRUMENT)
    assert (venue.side, venue.price_ticks, venue.size_lots, venue.filled_lots) == (
        Side.SELL,
        650001,
        5,
        2,
    )
    with pytest.raises(ValueError, match="tick"):
        venue_order_from_raw(raw.Order(**{**_fields(order), "price": "65000.15"}), INSTRUMENT)
    with pytest.raises(ValueError, match="side"):
        venue_order_from_raw(raw.Order(**{**_fields(order), "side": "Up"}), INSTRUMENT)


@pytest.mark.parametrize(
    ("status", "final", "filling"),
    [
        ("New", False, False),
        ("PartiallyFilled", False, True),
        ("Filled", True, True),
        ("Cancelled", True, False),
        ("PartiallyFilledCanceled", True, False),
        ("Rejected", True, False),
        ("Deactivated", True, False),
        ("Untriggered", False, False),
    ],
)
def test_the_status_says_whether_the_order_is_gone_and_whether_it_filled(
    status: str, final: bool, filling: bool
) -> None:
    venue = venue_order_from_raw(_with(order_status=status), INSTRUMENT)
    assert (venue.final, venue.filling) == (final, filling)


def test_one_push_gives_the_order_its_event_and_an_id_of_this_state() -> None:
    push = order_push(PARTLY_FILLED, INSTRUMENT)
    assert push.symbol == "BTCUSDT"
    assert push.order == venue_order_from_raw(PARTLY_FILLED, INSTRUMENT)
    assert isinstance(push.event, OrderFilled)
    assert (push.event.filled_lots, push.event.leaves_lots, push.event.partial) == (2, 3, True)
    assert push.state_id == "x:PartiallyFilled:1700000000000:0.002:65000.10:0.005"
    accepted = order_push(_with(order_status="New", cum_exec_qty="0"), INSTRUMENT)
    assert isinstance(accepted.event, OrderAccepted)
    assert accepted.state_id != push.state_id


def test_a_conditional_state_has_no_event_but_still_an_order() -> None:
    push = order_push(_with(order_status="Untriggered"), INSTRUMENT)
    assert push.event is None
    assert push.order.size_lots == 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"side": "Up"}, "side"),
        ({"price": "65000.15"}, "tick"),
        ({"qty": "abc"}, "decimal"),
        ({"order_status": "Exploded"}, "orderStatus"),
        ({"market_unit": "quoteCoin"}, "quote coin"),
        ({"updated_time": "-5"}, "negative"),
    ],
)
def test_a_malformed_push_is_refused_with_a_value_error(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        order_push(_with(**changes), INSTRUMENT)


def test_conversion_errors_are_value_errors_so_one_except_clause_catches_both() -> None:
    assert issubclass(ConversionError, ValueError)


def test_one_position_push_gives_the_signed_position_and_an_id_of_this_state() -> None:
    short = raw.Position(
        symbol="BTCUSDT", side="Sell", size="0.004", updated_time="1700000000000", seq=7
    )
    push = position_push(short, INSTRUMENT)
    assert (push.position.symbol, push.position.size_lots) == ("BTCUSDT", -4)
    assert push.state_id == "BTCUSDT:1700000000000:7:Sell:0.004"
    later = raw.Position(symbol="BTCUSDT", side="Sell", size="0.004", updated_time="1", seq=8)
    assert position_push(later, INSTRUMENT).state_id != push.state_id


def test_a_position_off_the_lot_grid_is_refused() -> None:
    with pytest.raises(ConversionError, match="position BTCUSDT"):
        position_push(raw.Position(symbol="BTCUSDT", side="Buy", size="0.0005"), INSTRUMENT)


def _outcome(convert: object, order: raw.Order) -> object:
    try:
        return convert(order, INSTRUMENT)  # type: ignore[operator]
    except ValueError:
        return ValueError


@pytest.mark.parametrize(
    "changes",
    [
        {"order_status": status}
        for status in ("New", "Filled", "Cancelled", "Rejected", "Untriggered", "Exploded")
    ]
    + [
        {"cancel_type": "CancelByUser", "order_status": "Cancelled"},
        {"created_time": "1699", "updated_time": ""},
        {"updated_time": "", "created_time": ""},
        {"leaves_qty": "0.0001"},
        {"cum_exec_qty": "x"},
        {"side": "Sell", "price": "0.10"},
    ],
)
def test_the_once_converted_event_is_the_one_the_separate_conversion_gives(
    changes: dict[str, object],
) -> None:
    order = _with(**changes)
    expected = _outcome(order_event_from_order, order)
    if expected is not ValueError and _outcome(venue_order_from_raw, order) is ValueError:
        expected = ValueError  # the order itself is malformed: neither half is published
    pushed = _outcome(order_push, order)
    assert (pushed if pushed is ValueError else pushed.event) == expected  # type: ignore[attr-defined]

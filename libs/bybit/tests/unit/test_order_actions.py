"""Requests built from sides, ticks and lots carry the venue's spelling of each."""

from dataclasses import dataclass

import msgspec
import pytest

from mm_bybit.convert import ConversionError
from mm_bybit.order_requests import amend_request, batch_limit, cancel_request, create_request
from mm_bybit.signing import encode_body
from mm_proto import Side
from mm_proto.examples import example_instrument

INSTRUMENT = example_instrument()  # BTCUSDT linear: tick 0.10, lot 0.001


@dataclass(frozen=True)
class Planned:
    """An order as a caller plans it (shaped like the executor's `Create`)."""

    side: Side
    price_ticks: int
    size_lots: int
    reduce_only: bool = False
    time_in_force: str = "post_only"


def body(request: msgspec.Struct) -> object:
    return msgspec.json.decode(encode_body(request))


def test_a_create_becomes_a_post_only_limit_order_in_decimals() -> None:
    request = create_request(INSTRUMENT, Planned(Side.SELL, 650001, 5), "mm-1")
    assert body(request) == {
        "category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Limit",
        "qty": "0.005", "price": "65000.10", "timeInForce": "PostOnly", "orderLinkId": "mm-1",
    }  # fmt: skip


def test_a_reduce_only_ioc_create_says_so_and_an_unknown_time_in_force_is_refused() -> None:
    request = create_request(INSTRUMENT, Planned(Side.BUY, 10, 1, True, "ioc"), "mm-2")
    assert (request.side, request.time_in_force, request.reduce_only) == ("Buy", "IOC", True)
    with pytest.raises(ConversionError, match="time_in_force"):
        create_request(INSTRUMENT, Planned(Side.BUY, 10, 1, False, "gtc"), "mm-3")


def test_an_amend_carries_only_what_changes() -> None:
    assert body(amend_request(INSTRUMENT, "mm-1", size_lots=7)) == {
        "category": "linear", "symbol": "BTCUSDT", "orderLinkId": "mm-1", "qty": "0.007",
    }  # fmt: skip
    assert body(amend_request(INSTRUMENT, "mm-1", price_ticks=3)) == {
        "category": "linear", "symbol": "BTCUSDT", "orderLinkId": "mm-1", "price": "0.30",
    }  # fmt: skip


def test_a_cancel_names_the_order_by_client_id_or_by_venue_id() -> None:
    assert body(cancel_request(INSTRUMENT, client_order_id="mm-1")) == {
        "category": "linear", "symbol": "BTCUSDT", "orderLinkId": "mm-1",
    }  # fmt: skip
    assert body(cancel_request(INSTRUMENT, venue_order_id="v-9")) == {
        "category": "linear", "symbol": "BTCUSDT", "orderId": "v-9",
    }  # fmt: skip


def test_batch_limit_is_the_category_limit_and_ten_for_an_unknown_category() -> None:
    assert (batch_limit("linear"), batch_limit("spot"), batch_limit("unknown")) == (20, 10, 10)

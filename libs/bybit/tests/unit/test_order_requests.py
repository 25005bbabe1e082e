"""Order bodies carry only what was set, batches are checked before anything is sent."""

import msgspec
import pytest

from mm_bybit.order_requests import (
    AmendOrder,
    CancelOrder,
    CreateOrder,
    batch_body,
    validate_target,
)
from mm_bybit.signing import encode_body
from mm_bybit.ws_public import subscribe_batches


def create(link_id: str, category: str = "linear") -> CreateOrder:
    return CreateOrder(
        category=category, symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price="60000", time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


def test_create_body_matches_the_signed_reference_body_byte_for_byte() -> None:
    assert encode_body(create("mm-1")) == (
        b'{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit",'
        b'"qty":"0.001","price":"60000","timeInForce":"PostOnly","orderLinkId":"mm-1"}'
    )


def test_unset_fields_are_left_out() -> None:
    amend = AmendOrder(category="linear", symbol="BTCUSDT", order_link_id="mm-1", price="1")
    assert msgspec.json.decode(encode_body(amend)) == {
        "category": "linear", "symbol": "BTCUSDT", "orderLinkId": "mm-1", "price": "1",
    }  # fmt: skip


def test_amend_or_cancel_without_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="needs order_id or order_link_id"):
        validate_target(CancelOrder(category="linear", symbol="BTCUSDT"))


def test_batch_moves_category_to_the_top() -> None:
    body = batch_body([create("a"), create("b")])
    assert body["category"] == "linear"
    assert body["request"] == [
        {k: v for k, v in msgspec.to_builtins(create(x)).items() if k != "category"} for x in "ab"
    ]


def test_batch_limits_follow_the_category() -> None:
    batch_body([create(f"s-{n}", "spot") for n in range(10)])
    with pytest.raises(ValueError, match="spot batch holds at most 10 requests, was 11"):
        batch_body([create(f"s-{n}", "spot") for n in range(11)])
    with pytest.raises(ValueError, match="linear batch holds at most 20 requests, was 21"):
        batch_body([create(f"l-{n}") for n in range(21)])


def test_batch_of_mixed_kinds_or_categories_is_refused() -> None:
    cancel = CancelOrder(category="linear", symbol="BTCUSDT", order_link_id="a")
    with pytest.raises(ValueError, match="one kind of request in one category"):
        batch_body([create("a"), cancel])
    with pytest.raises(ValueError, match="one kind of request in one category"):
        batch_body([create("a"), create("b", "spot")])
    with pytest.raises(ValueError, match="at least one request"):
        batch_body([])


def test_subscriptions_split_into_requests_of_at_most_ten() -> None:
    topics = [f"publicTrade.S{n}USDT" for n in range(23)]
    batches = subscribe_batches(topics)
    assert [len(batch) for batch in batches] == [10, 10, 3]
    assert sorted(t for batch in batches for t in batch) == sorted(topics)

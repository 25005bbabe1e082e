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
from mm_bybit.ws_private import DEFAULT_TOPICS, dcp_applies, private_topics, private_url
from mm_bybit.ws_public import public_url, subscribe_batches, trade_topic
from mm_bybit.ws_trade import trade_url


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


def test_stream_addresses_hang_off_the_websocket_base_url_with_or_without_a_slash() -> None:
    for base in ("ws://127.0.0.1:1", "ws://127.0.0.1:1/"):
        assert public_url(base, "spot") == "ws://127.0.0.1:1/v5/public/spot"
        assert private_url(base) == "ws://127.0.0.1:1/v5/private"
        assert trade_url(base) == "ws://127.0.0.1:1/v5/trade"


def test_the_dcp_topic_is_subscribed_only_when_wanted_and_the_category_has_it() -> None:
    assert private_topics("linear", dcp=True) == (*DEFAULT_TOPICS, "dcp.future")
    assert private_topics("linear", dcp=False) == DEFAULT_TOPICS
    assert private_topics("spot", dcp=True) == DEFAULT_TOPICS
    assert (dcp_applies("linear"), dcp_applies("spot")) == (True, False)


def test_the_trade_topic_names_the_symbol() -> None:
    assert trade_topic("ETHUSDT") == "publicTrade.ETHUSDT"

"""Signing reproduces the reference vectors byte for byte and builds the exact query sent."""

import pytest

from mm_bybit.signing import (
    encode_body,
    encode_query,
    rest_signature,
    signed_headers,
    websocket_auth_signature,
)

KEY = "test-key"
SECRET = "test-secret"
TS = 1700000000000
RECV = 5000
POST_BODY = (
    '{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001",'
    '"price":"60000","timeInForce":"PostOnly","orderLinkId":"mm-1"}'
)


def test_get_signature_matches_reference_vector() -> None:
    query = encode_query({"category": "linear", "symbol": "BTCUSDT"})
    assert query == "category=linear&symbol=BTCUSDT"
    assert (
        rest_signature(SECRET, TS, KEY, RECV, query)
        == "9a7c8cfd6ba1a7c498aa4dd5a7f9cfbba01fcb6eebae734ffe0d775870a1a3fb"
    )


def test_post_signature_matches_reference_vector_over_the_encoded_body() -> None:
    body = encode_body(
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.001",
            "price": "60000",
            "timeInForce": "PostOnly",
            "orderLinkId": "mm-1",
        }
    )
    assert body == POST_BODY.encode()
    assert (
        rest_signature(SECRET, TS, KEY, RECV, body)
        == "b916e36d2fc85655127a7aba18be737953da7895c1bcaca77ea112d6e8574fb8"
    )


def test_websocket_auth_signature_matches_reference_vector() -> None:
    assert (
        websocket_auth_signature(SECRET, 1700000010000)
        == "977d2a1068009c263a4e3e15a2838ccaf62d1eda4ca2ff08b5456910b481b58b"
    )


def test_whitespace_in_the_body_changes_the_signature() -> None:
    spaced = POST_BODY.replace(",", ", ")
    assert rest_signature(SECRET, TS, KEY, RECV, spaced) != rest_signature(
        SECRET, TS, KEY, RECV, POST_BODY
    )


def test_query_drops_none_keeps_order_and_passes_cursors_verbatim() -> None:
    query = encode_query(
        {"symbol": "BTCUSDT", "category": "linear", "orderId": None, "cursor": "ab%3A12%2Ccd"}
    )
    assert query == "symbol=BTCUSDT&category=linear&cursor=ab%3A12%2Ccd"


def test_query_booleans_and_integers_are_spelled_as_the_venue_expects() -> None:
    assert encode_query({"openOnly": 0, "flag": True}) == "openOnly=0&flag=true"


@pytest.mark.parametrize("value", ["a&b=c", "x y", "a#b"])
def test_query_values_that_would_change_the_query_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="must not contain"):
        encode_query({"symbol": value})


def test_signed_headers_carry_key_timestamp_window_and_signature() -> None:
    headers = signed_headers(KEY, SECRET, TS, RECV, "category=linear&symbol=BTCUSDT")
    assert headers["X-BAPI-API-KEY"] == KEY
    assert headers["X-BAPI-TIMESTAMP"] == str(TS)
    assert headers["X-BAPI-RECV-WINDOW"] == str(RECV)
    assert headers["X-BAPI-SIGN"].startswith("9a7c8cfd")
    assert SECRET not in "".join(headers.values())

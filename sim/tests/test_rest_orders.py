"""REST over real sockets: signing, clock window, retCodes, rate limits, order life cycle."""

from __future__ import annotations

import time
from typing import Any

from mm_sim.auth import sign
from mm_sim.testing import SimulatorHandle

ORDER = {
    "category": "linear",
    "symbol": "BTCUSDT",
    "side": "Buy",
    "orderType": "Limit",
    "qty": "0.010",
    "price": "59000.0",
    "timeInForce": "GTC",
}


def test_signature_matches_reference_vectors() -> None:
    get = sign("test-secret", "1700000000000test-key5000category=linear&symbol=BTCUSDT")
    assert get == "9a7c8cfd6ba1a7c498aa4dd5a7f9cfbba01fcb6eebae734ffe0d775870a1a3fb"
    assert sign("test-secret", "GET/realtime1700000010000") == (
        "977d2a1068009c263a4e3e15a2838ccaf62d1eda4ca2ff08b5456910b481b58b"
    )


async def test_create_realtime_amend_cancel(rest: Any) -> None:
    created = await rest.post("/v5/order/create", ORDER | {"orderLinkId": "life-1"})
    assert created["retCode"] == 0, created
    assert set(created["result"]) == {"orderId", "orderLinkId"}
    assert rest.last_headers["X-Bapi-Limit"] == "10"
    assert rest.last_headers["Ret_code"] == "0"
    assert rest.last_headers["Timenow"].isdigit()
    order_id = created["result"]["orderId"]
    listed = await rest.get("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
    [row] = listed["result"]["list"]
    assert (row["orderId"], row["orderStatus"], row["price"], row["qty"]) == (
        order_id,
        "New",
        "59000.00",
        "0.010",
    )
    assert row["positionIdx"] == 0
    assert row["reduceOnly"] is False
    amended = await rest.post(
        "/v5/order/amend",
        {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "life-1", "price": "58990.0"},
    )
    assert amended["retCode"] == 0
    assert amended["result"]["orderId"] == order_id
    cancelled = await rest.post(
        "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": order_id}
    )
    assert cancelled["retCode"] == 0
    again = await rest.post(
        "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": order_id}
    )
    assert again["retCode"] == 110001
    closed = await rest.get(
        "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "openOnly": "1"}
    )
    assert closed["result"]["list"][0]["orderStatus"] == "Cancelled"
    assert closed["result"]["list"][0]["cancelType"] == "CancelByUser"


async def test_auth_failures_have_bybit_codes(rest: Any) -> None:
    stale = await rest.post(
        "/v5/order/create", ORDER, timestamp=time.time_ns() // 1_000_000 - 60_000
    )
    assert stale["retCode"] == 10002
    assert "recv_window" in stale["retMsg"]
    future = await rest.post(
        "/v5/order/create", ORDER, timestamp=time.time_ns() // 1_000_000 + 5_000
    )
    assert future["retCode"] == 10002
    rest.secret = "wrong"
    bad_sign = await rest.post("/v5/order/create", ORDER)
    assert bad_sign["retCode"] == 10004
    assert bad_sign["retMsg"].startswith("error sign! origin_string[")
    rest.key = "nobody"
    assert (await rest.post("/v5/order/create", ORDER))["retCode"] == 10003


async def test_business_errors(rest: Any) -> None:
    assert (await rest.post("/v5/order/create", ORDER | {"orderLinkId": "dup"}))["retCode"] == 0
    duplicate = await rest.post("/v5/order/create", ORDER | {"orderLinkId": "dup"})
    assert (duplicate["retCode"], duplicate["retMsg"]) == (110072, "OrderLinkedID is duplicate")
    too_big = await rest.post("/v5/order/create", ORDER | {"qty": "1000", "price": "59000.0"})
    assert too_big["retCode"] == 110007
    off_tick = await rest.post("/v5/order/create", ORDER | {"price": "59000.05"})
    assert off_tick["retCode"] == 10001
    assert "tickSize" in off_tick["retMsg"]
    missing = await rest.post("/v5/order/create", {"category": "linear", "symbol": "BTCUSDT"})
    assert missing["retCode"] == 10001
    unknown = await rest.post(
        "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": "nope"}
    )
    assert unknown["retCode"] == 110001
    reduce = await rest.post("/v5/order/create", ORDER | {"reduceOnly": True})
    assert reduce["retCode"] == 110017
    hedge = await rest.post("/v5/order/create", ORDER | {"positionIdx": 1})
    assert hedge["retCode"] == 10001
    assert "position idx" in hedge["retMsg"]
    assert rest.last_status == 200


async def test_rate_limit_gives_10006_with_headers(sim: SimulatorHandle, rest: Any) -> None:
    for index in range(10):
        reply = await rest.post("/v5/order/create", ORDER | {"orderLinkId": f"rl-{index}"})
        assert reply["retCode"] == 0, reply
    assert rest.last_headers["X-Bapi-Limit-Status"] == "0"
    limited = await rest.post("/v5/order/create", ORDER | {"orderLinkId": "rl-x"})
    assert (limited["retCode"], limited["retMsg"]) == (10006, "Too many visits!")
    reset = int(rest.last_headers["X-Bapi-Limit-Reset-Timestamp"])
    assert reset == sim.venue.clock.now_ms() + 1000
    await sim.admin.step(0, advance_ms=1000)
    assert (await rest.post("/v5/order/create", ORDER | {"orderLinkId": "rl-y"}))["retCode"] == 0


async def test_batch_create_and_cancel(rest: Any) -> None:
    items = [ORDER | {"orderLinkId": f"b-{i}"} for i in range(3)]
    for item in items:
        item.pop("category")
    items.append(
        {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.010", "price": "bad"}
    )
    reply = await rest.post("/v5/order/create-batch", {"category": "linear", "request": items})
    assert reply["retCode"] == 0
    codes = [row["code"] for row in reply["retExtInfo"]["list"]]
    assert codes == [0, 0, 0, 10001]
    assert all(row["createAt"] for row in reply["result"]["list"][:3])
    cancel = await rest.post(
        "/v5/order/cancel-batch",
        {
            "category": "linear",
            "request": [
                {"symbol": "BTCUSDT", "orderLinkId": "b-0"},
                {"symbol": "BTCUSDT", "orderLinkId": "missing"},
            ],
        },
    )
    assert [row["code"] for row in cancel["retExtInfo"]["list"]] == [0, 110001]
    everything = await rest.post(
        "/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}
    )
    assert everything["result"]["success"] == "1"
    assert len(everything["result"]["list"]) == 2


async def test_market_endpoints(sim: SimulatorHandle, rest: Any) -> None:
    await sim.admin.step(30)
    info = await rest.get("/v5/market/instruments-info", {"category": "linear"})
    assert {row["symbol"] for row in info["result"]["list"]} == {"BTCUSDT", "ETHUSDT"}
    book = await rest.get(
        "/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": "5"}
    )
    assert len(book["result"]["b"]) == 5
    assert isinstance(book["result"]["u"], int)
    assert float(book["result"]["b"][0][0]) < float(book["result"]["a"][0][0])
    trades = await rest.get(
        "/v5/market/recent-trade", {"category": "linear", "symbol": "BTCUSDT", "limit": "5"}
    )
    assert trades["retCode"] == 0
    assert all(isinstance(t["price"], str) for t in trades["result"]["list"])
    bad = await rest.get("/v5/market/orderbook", {"category": "linear", "symbol": "NOPE"})
    assert bad["retCode"] == 10001
    fee = await rest.get("/v5/account/fee-rate", {"category": "linear", "symbol": "BTCUSDT"})
    assert fee["result"]["list"] == [
        {"symbol": "BTCUSDT", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"}
    ]


async def test_get_with_body_is_forbidden(sim: SimulatorHandle) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.rest_url}/v5/market/time", data=b"{}") as response,
    ):
        assert response.status == 403


async def test_get_signature_covers_the_query_exactly_as_sent(rest: Any) -> None:
    encoded = await rest.get(
        "/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT%2CBTC"}
    )
    assert encoded["retCode"] == 0, encoded
    assert [row["coin"] for row in encoded["result"]["list"][0]["coin"]] == ["USDT", "BTC"]


async def test_the_admin_request_log_lists_accepted_creates_and_amends_with_their_sender(
    sim: SimulatorHandle, rest: Any
) -> None:
    await rest.post("/v5/order/create", ORDER | {"orderLinkId": "mm-a-1"})
    refused = await rest.post("/v5/order/create", ORDER | {"orderLinkId": "mm-a-1"})
    assert refused["retCode"] != 0  # a refused request is not in the log
    await rest.post(
        "/v5/order/amend",
        {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "mm-a-1", "price": "58990.0"},
    )
    await rest.post("/v5/order/create", ORDER | {"orderLinkId": "mm-b-1"})
    rows = (await sim.admin.requests())["list"]
    assert [(row["seq"], row["kind"], row["orderLinkId"]) for row in rows] == [
        (1, "create", "mm-a-1"),
        (2, "amend", "mm-a-1"),
        (3, "create", "mm-b-1"),
    ]
    assert {row["symbol"] for row in rows} == {"BTCUSDT"}
    assert rows[0]["ts_ms"] <= rows[2]["ts_ms"]

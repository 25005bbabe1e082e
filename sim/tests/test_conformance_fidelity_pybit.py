"""Conformance through pybit for the places the simulator used to be kinder than Bybit: paging,
filters, conditional fields, position settings, spot codes, price bands, amend texts, unknown
symbols and paths. Expected retCodes are those of the Bybit reference (§3, §4.2).

pybit is pointed at the simulator as in `test_conformance_pybit.py` (the HTTP instance's
`endpoint` is overwritten); pybit raises `InvalidRequestError` with `status_code` = retCode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
)

call = asyncio.to_thread


def session_for(sim: SimulatorHandle) -> HTTP:
    session = HTTP(testnet=False, api_key=API_KEY, api_secret=API_SECRET, max_retries=1)
    session.endpoint = sim.rest_url
    return session


async def refused(method: Callable[..., Any], **kwargs: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        await call(method, **kwargs)
    return caught.value


async def place_bids(session: HTTP, count: int, symbol: str = "BTCUSDT") -> list[str]:
    ids = []
    for number in range(count):
        placed = await call(
            session.place_order,
            category="linear",
            symbol=symbol,
            side="Buy",
            orderType="Limit",
            qty="0.001" if symbol == "BTCUSDT" else "0.01",
            price=str(59000 - number) if symbol == "BTCUSDT" else str(2900 - number),
            orderLinkId=f"{symbol}-{number}",
        )
        ids.append(placed["result"]["orderId"])
    return ids


async def walk(
    method: Callable[..., Any], cursor: str = "", **kwargs: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every row through the cursor (from `cursor` on), and the number of pages it took."""
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        result = (await call(method, **kwargs, **({"cursor": cursor} if cursor else {})))["result"]
        pages += 1
        rows.extend(result["list"])
        cursor = result["nextPageCursor"]
        if not cursor:
            return rows, pages


async def test_open_orders_and_history_page_through_every_order_with_the_cursor(
    busy_sim: SimulatorHandle,
) -> None:
    session = session_for(busy_sim)
    ids = await place_bids(session, 45)
    first = (await call(session.get_open_orders, category="linear", symbol="BTCUSDT"))["result"]
    assert len(first["list"]) == 20  # Bybit's default limit
    assert first["nextPageCursor"]
    rows, pages = await walk(session.get_open_orders, category="linear", symbol="BTCUSDT")
    assert pages == 3
    assert [row["orderId"] for row in rows] == list(reversed(ids))  # newest first, no repeats
    rows, pages = await walk(
        session.get_open_orders, category="linear", settleCoin="USDT", limit=50
    )
    assert (len(rows), pages) == (45, 1)
    history, pages = await walk(session.get_order_history, category="linear", limit=7)
    assert (len(history), pages) == (45, 7)
    too_many = await refused(session.get_open_orders, category="linear", symbol="BTCUSDT", limit=51)
    assert too_many.status_code == 10001
    forged = await refused(
        session.get_open_orders, category="linear", symbol="BTCUSDT", cursor="not-a-cursor"
    )
    assert forged.status_code == 10001


async def test_a_cursor_survives_orders_closing_between_pages(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    ids = await place_bids(session, 30)
    page = (await call(session.get_open_orders, category="linear", symbol="BTCUSDT", limit=10))[
        "result"
    ]
    for order_id in ids[:5]:  # the oldest five close while the client is between pages
        await call(session.cancel_order, category="linear", symbol="BTCUSDT", orderId=order_id)
    rest, _ = await walk(
        session.get_open_orders,
        category="linear",
        symbol="BTCUSDT",
        limit=10,
        cursor=page["nextPageCursor"],
    )
    seen = [row["orderId"] for row in page["list"] + rest]
    assert seen == list(reversed(ids[5:]))


async def test_order_history_honours_order_status(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    ids = await place_bids(session, 3)
    await call(session.cancel_order, category="linear", symbol="BTCUSDT", orderId=ids[1])
    cancelled = await call(
        session.get_order_history, category="linear", symbol="BTCUSDT", orderStatus="Cancelled"
    )
    assert [row["orderId"] for row in cancelled["result"]["list"]] == [ids[1]]
    new = await call(session.get_order_history, category="linear", orderStatus="New")
    assert {row["orderId"] for row in new["result"]["list"]} == {ids[0], ids[2]}
    bogus = await refused(session.get_order_history, category="linear", orderStatus="Sleeping")
    assert bogus.status_code == 10001


async def market_buys(session: HTTP, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        placed = await call(
            session.place_order,
            category="linear",
            symbol="BTCUSDT",
            side="Buy",
            orderType="Market",
            qty="0.001",
        )
        ids.append(placed["result"]["orderId"])
    return ids


async def test_execution_list_honours_every_filter_and_pages(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    ids = await market_buys(session, 5)
    everything = await call(session.get_executions, category="linear")
    assert len(everything["result"]["list"]) >= 5
    one = await call(session.get_executions, category="linear", orderId=ids[2])
    assert {row["orderId"] for row in one["result"]["list"]} == {ids[2]}
    bogus = await call(session.get_executions, category="linear", orderId="no-such-order")
    assert bogus["result"]["list"] == []
    funding = await call(session.get_executions, category="linear", execType="Funding")
    assert funding["result"]["list"] == []
    rows, pages = await walk(session.get_executions, category="linear", limit=2)
    assert len({row["execId"] for row in rows}) == len(rows) == len(everything["result"]["list"])
    assert pages == (len(rows) + 1) // 2
    newest = int(everything["result"]["list"][0]["execTime"])
    later = await call(session.get_executions, category="linear", startTime=newest + 1)
    assert later["result"]["list"] == []
    week_ms = 7 * 24 * 3600 * 1000
    too_wide = await refused(
        session.get_executions, category="linear", startTime=newest - week_ms - 1, endTime=newest
    )
    assert too_wide.status_code == 10001
    no_category = await refused(session.get_executions, symbol="BTCUSDT")
    assert no_category.status_code == 10001
    too_many = await refused(session.get_executions, category="linear", limit=101)
    assert too_many.status_code == 10001


@pytest.mark.parametrize(
    "extra",
    [
        {"triggerPrice": "61000", "triggerDirection": 1},
        {"takeProfit": "65000"},
        {"stopLoss": "55000"},
        {"tpslMode": "Partial", "tpLimitPrice": "65000"},
        {"closeOnTrigger": True},
    ],
)
async def test_conditional_and_tpsl_fields_are_refused_not_dropped(
    sim: SimulatorHandle, extra: dict[str, Any]
) -> None:
    session = session_for(sim)
    error = await refused(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="59000",
        **extra,
    )
    assert error.status_code == 10001
    still = await call(session.get_open_orders, category="linear", symbol="BTCUSDT")
    assert still["result"]["list"] == []


async def test_amend_refuses_conditional_fields_unchanged_orders_and_unknown_ids(
    sim: SimulatorHandle,
) -> None:
    session = session_for(sim)
    order_id = (await place_bids(session, 1))[0]
    common = {"category": "linear", "symbol": "BTCUSDT"}
    trigger = await refused(session.amend_order, **common, orderId=order_id, triggerPrice="1")
    assert trigger.status_code == 10001
    same = await refused(session.amend_order, **common, orderId=order_id, price="59000")
    assert same.status_code == 10001
    assert "remains unchanged" in same.message
    unknown = await refused(session.amend_order, **common, orderId="no-such-order", price="1")
    assert unknown.status_code == 110001
    assert "too late to replace" in unknown.message
    cancel_unknown = await refused(session.cancel_order, **common, orderId="no-such-order")
    assert "too late to cancel" in cancel_unknown.message


async def test_set_leverage_changes_margin_use_and_refuses_no_change(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    await place_bids(session, 1)
    before = await call(session.get_wallet_balance, accountType="UNIFIED")
    await call(
        session.set_leverage,
        category="linear",
        symbol="BTCUSDT",
        buyLeverage="5",
        sellLeverage="5",
    )
    after = await call(session.get_wallet_balance, accountType="UNIFIED")
    order_margin = Decimal(before["result"]["list"][0]["totalInitialMargin"])
    assert Decimal(after["result"]["list"][0]["totalInitialMargin"]) == order_margin * 2
    position = await call(session.get_positions, category="linear", symbol="BTCUSDT")
    assert position["result"]["list"][0]["leverage"] == "5"
    again = await refused(
        session.set_leverage,
        category="linear",
        symbol="BTCUSDT",
        buyLeverage="5",
        sellLeverage="5",
    )
    assert again.status_code == 110043
    uneven = await refused(
        session.set_leverage,
        category="linear",
        symbol="BTCUSDT",
        buyLeverage="5",
        sellLeverage="6",
    )
    assert uneven.status_code == 10001
    out_of_range = await refused(
        session.set_leverage,
        category="linear",
        symbol="BTCUSDT",
        buyLeverage="0.5",
        sellLeverage="0.5",
    )
    assert out_of_range.status_code == 10001


async def test_switch_mode_answers_with_bybits_codes(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    one_way = await refused(
        session.switch_position_mode, category="linear", symbol="BTCUSDT", mode=0
    )
    assert one_way.status_code == 110025
    await place_bids(session, 1)
    with_orders = await refused(
        session.switch_position_mode, category="linear", symbol="BTCUSDT", mode=3
    )
    assert with_orders.status_code == 110028
    await call(session.cancel_all_orders, category="linear", symbol="BTCUSDT")
    await market_buys(session, 1)
    with_position = await refused(
        session.switch_position_mode, category="linear", coin="USDT", mode=3
    )
    assert with_position.status_code == 110024


async def test_closed_pnl_reports_a_closed_round_trip(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    await market_buys(session, 1)
    closed = await call(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Sell",
        orderType="Market",
        qty="0.001",
        reduceOnly=True,
    )
    rows = (await call(session.get_closed_pnl, category="linear", symbol="BTCUSDT"))["result"]
    assert [row["orderId"] for row in rows["list"]] == [closed["result"]["orderId"]]
    row = rows["list"][0]
    assert row["closedSize"] == "0.001"
    gross = (Decimal(row["avgExitPrice"]) - Decimal(row["avgEntryPrice"])) * Decimal("0.001")
    fees = Decimal(row["openFee"]) + Decimal(row["closeFee"])
    assert fees > 0
    assert abs(Decimal(row["closedPnl"]) - (gross - fees)) < Decimal("0.0001")
    assert rows["nextPageCursor"] == ""


async def test_account_info_answers_a_unified_account(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    info = (await call(session.get_account_info))["result"]
    assert info["unifiedMarginStatus"] in (5, 6)
    assert info["marginMode"] == "REGULAR_MARGIN"


async def test_spot_quantity_refusals_use_spot_codes(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    spot = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit"}
    small = await refused(session.place_order, **spot, qty="0.000001", price="59000")
    assert small.status_code == 170136
    precise = await refused(session.place_order, **spot, qty="0.0010001", price="59000")
    assert precise.status_code == 170137


async def test_price_bands_clamp_linear_and_refuse_spot(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    high = await refused(
        session.place_order,
        category="spot",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="90000",
    )
    assert high.status_code == 170193
    low = await refused(
        session.place_order,
        category="spot",
        symbol="BTCUSDT",
        side="Sell",
        orderType="Limit",
        qty="0.001",
        price="30000",
    )
    assert low.status_code == 170194
    placed = await call(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="90000",
    )
    order = (
        await call(
            session.get_open_orders,
            category="linear",
            symbol="BTCUSDT",
            orderId=placed["result"]["orderId"],
        )
    )["result"]["list"][0]
    book = (await call(session.get_orderbook, category="linear", symbol="BTCUSDT"))["result"]
    mid = (Decimal(book["b"][0][0]) + Decimal(book["a"][0][0])) / 2
    assert Decimal(order["price"]) < Decimal("90000")
    assert Decimal(order["price"]) <= mid * Decimal("1.01")
    assert order["orderStatus"] == "Filled"
    resting = await call(
        session.place_order,
        category="spot",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="59000",
    )
    amended = await refused(
        session.amend_order,
        category="spot",
        symbol="BTCUSDT",
        orderId=resting["result"]["orderId"],
        price="90000",
    )
    assert amended.status_code == 170193


async def test_unknown_symbols_and_paths_answer_as_bybit(sim: SimulatorHandle) -> None:
    session = session_for(sim)
    for method in (session.get_orderbook, session.get_tickers, session.get_public_trade_history):
        error = await refused(method, category="linear", symbol="NOPEUSDT")
        assert (error.status_code, error.message) == (10001, "Not supported symbols")
    info = await call(session.get_instruments_info, category="linear", symbol="NOPEUSDT")
    assert info["result"]["list"] == []
    with pytest.raises(FailedRequestError) as unknown:  # HTTP 404 (reference §3.2)
        await call(session.get_api_key_information)
    assert unknown.value.status_code == 404

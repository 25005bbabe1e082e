"""Conformance through pybit for the remaining endpoints the services call (`mm_bybit.api`):
batch amend/cancel with per-item codes, DCP window set and read, recently closed orders, a closed
order by client id, and the query window on executions. Expected codes from the reference §3."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError

from mm_sim.testing import SimulatorHandle

from .test_conformance_fidelity_pybit import place_bids, session_for

call = asyncio.to_thread


def rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return list(answer["result"]["list"])


async def test_batch_amend_and_cancel_answer_per_item(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    ids = await place_bids(session, 3)
    amended = await call(
        session.amend_batch_order,
        category="linear",
        request=[
            {"symbol": "BTCUSDT", "orderId": ids[0], "price": "58000"},
            {"symbol": "BTCUSDT", "orderId": "no-such-order", "price": "58000"},
        ],
    )
    assert amended["retCode"] == 0
    assert [item["code"] for item in amended["retExtInfo"]["list"]] == [0, 110001]
    cancelled = await call(
        session.cancel_batch_order,
        category="linear",
        request=[{"symbol": "BTCUSDT", "orderId": order_id} for order_id in ids[:2]]
        + [{"symbol": "BTCUSDT", "orderId": "no-such-order"}],
    )
    assert [item["code"] for item in cancelled["retExtInfo"]["list"]] == [0, 0, 110001]
    with pytest.raises(InvalidRequestError) as too_big:
        await call(
            session.place_batch_order,
            category="linear",
            request=[
                {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                 "price": str(50000 + n)}
                for n in range(21)
            ],
        )  # fmt: skip
    assert too_big.value.status_code == 10001


async def test_dcp_window_is_set_and_read_back(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    await call(session.set_dcp, product="DERIVATIVES", timeWindow=12)
    info = await call(session.query_dcp_info)
    assert {"product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": "12"} in info["result"][
        "dcpInfos"
    ]
    with pytest.raises(InvalidRequestError) as too_long:
        await call(session.set_dcp, product="DERIVATIVES", timeWindow=301)
    assert too_long.value.status_code == 10001


async def test_closed_orders_are_found_recently_and_by_client_id(busy_sim: SimulatorHandle) -> None:
    session = session_for(busy_sim)
    ids = await place_bids(session, 2)
    await call(session.cancel_order, category="linear", symbol="BTCUSDT", orderId=ids[0])
    recent = rows(
        await call(session.get_open_orders, category="linear", symbol="BTCUSDT", openOnly=1)
    )
    assert [row["orderId"] for row in recent] == [ids[0]]
    by_link = rows(
        await call(
            session.get_open_orders, category="linear", symbol="BTCUSDT", orderLinkId="BTCUSDT-0"
        )
    )
    assert [(row["orderId"], row["orderStatus"]) for row in by_link] == [(ids[0], "Cancelled")]
    open_now = rows(await call(session.get_open_orders, category="linear", symbol="BTCUSDT"))
    assert [row["orderId"] for row in open_now] == [ids[1]]


async def test_executions_are_found_inside_a_start_and_end_window(
    busy_sim: SimulatorHandle,
) -> None:
    session = session_for(busy_sim)
    await call(
        session.place_order,
        category="linear",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Market",
        qty="0.002",
    )
    found = rows(await call(session.get_executions, category="linear", symbol="BTCUSDT"))
    when = int(found[0]["execTime"])
    inside = rows(
        await call(
            session.get_executions, category="linear", startTime=when - 1000, endTime=when + 1000
        )
    )
    assert {row["execId"] for row in inside} == {row["execId"] for row in found}
    before = rows(
        await call(
            session.get_executions, category="linear", startTime=when - 5000, endTime=when - 1
        )
    )
    assert before == []

"""The REST client against the simulator's paging and filters: every cursor walked, every filter
sent, the 7-day window respected, and the venue's refusals typed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mm_bybit.api import QUERY_WINDOW_MS, BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import AuthError, ParameterError, error_from_http_status
from mm_bybit.order_requests import CancelOrder, CreateOrder
from mm_bybit.rest import RestClient
from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings


@pytest.fixture
async def busy_sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(simulator_settings(order_rate_limit_per_s=1000)) as handle:
        yield handle


@pytest.fixture
async def busy_api(
    busy_sim: SimulatorHandle, credentials: ApiCredentials
) -> AsyncIterator[BybitRestApi]:
    async with RestClient(busy_sim.rest_url, credentials) as rest:
        await rest.sync_clock()
        yield BybitRestApi(rest)


def bid(symbol: str, number: int) -> CreateOrder:
    btc = symbol == "BTCUSDT"
    return CreateOrder(
        category="linear",
        symbol=symbol,
        side="Buy",
        order_type="Limit",
        qty="0.001" if btc else "0.01",
        price=str((59000 if btc else 2900) - number),
        order_link_id=f"{symbol}-{number}",
    )


async def test_open_and_closed_orders_walk_every_page(busy_api: BybitRestApi) -> None:
    for number in range(70):
        await busy_api.send_order(bid("BTCUSDT", number))
    for number in range(40):
        await busy_api.send_order(bid("ETHUSDT", number))
    mine = await busy_api.open_orders("linear", "BTCUSDT")
    assert len(mine) == len({order.order_id for order in mine}) == 70
    assert len(await busy_api.open_orders("linear")) == 110  # settleCoin=USDT, three pages
    for order in mine[:55]:
        await busy_api.send_order(
            CancelOrder(category="linear", symbol="BTCUSDT", order_id=order.order_id)
        )
    closed = await busy_api.closed_orders("linear")
    assert {order.order_id for order in closed} == {order.order_id for order in mine[:55]}
    assert len(await busy_api.open_orders("linear", "BTCUSDT")) == 15


async def test_order_history_walks_every_page_and_times_when_each_order_left(
    busy_api: BybitRestApi,
) -> None:
    start_ms = busy_api.rest.timestamp_ms() - 1000
    for number in range(60):
        await busy_api.send_order(bid("BTCUSDT", number))
    for order in (await busy_api.open_orders("linear", "BTCUSDT"))[:10]:
        await busy_api.send_order(
            CancelOrder(category="linear", symbol="BTCUSDT", order_id=order.order_id)
        )
    history = await busy_api.order_history("linear", start_ms)
    assert len(history) == len({order.order_id for order in history}) == 60  # two pages
    cancelled = [order for order in history if order.order_status == "Cancelled"]
    assert len(cancelled) == 10
    assert all(int(o.updated_time) >= int(o.created_time) >= start_ms for o in cancelled)
    assert await busy_api.order_history("linear", busy_api.rest.timestamp_ms() + 60_000) == []


async def test_executions_send_order_and_type_filters(busy_api: BybitRestApi) -> None:
    for _ in range(3):
        await busy_api.send_order(
            CreateOrder(
                category="linear", symbol="BTCUSDT", side="Buy", order_type="Market", qty="0.001"
            )
        )
    every = await busy_api.executions("linear", "BTCUSDT")
    target = every[-1].order_id
    one = await busy_api.executions("linear", "BTCUSDT", order_id=target)
    assert {item.order_id for item in one} == {target}
    assert await busy_api.executions("linear", "BTCUSDT", order_id="no-such-order") == []
    assert await busy_api.executions("linear", exec_type="Funding") == []
    assert len(await busy_api.executions("linear", exec_type="Trade")) == len(every)


async def test_executions_older_than_a_week_are_asked_window_by_window(
    busy_api: BybitRestApi,
) -> None:
    await busy_api.send_order(
        CreateOrder(
            category="linear", symbol="BTCUSDT", side="Buy", order_type="Market", qty="0.001"
        )
    )
    now = busy_api.rest.timestamp_ms()
    found = await busy_api.executions("linear", start_time_ms=now - 3 * QUERY_WINDOW_MS)
    # With startTime alone the venue would answer [start, start + 7 days] and miss today's fill.
    assert len(found) == len(await busy_api.executions("linear")) > 0


async def test_venue_refusals_of_the_new_checks_are_typed(busy_api: BybitRestApi) -> None:
    with pytest.raises(ParameterError, match="170136"):
        await busy_api.send_order(
            CreateOrder(
                category="spot", symbol="BTCUSDT", side="Buy", order_type="Limit",
                qty="0.000001", price="59000",
            )
        )  # fmt: skip
    with pytest.raises(ParameterError, match="170193"):
        await busy_api.send_order(
            CreateOrder(
                category="spot", symbol="BTCUSDT", side="Buy", order_type="Limit",
                qty="0.001", price="90000",
            )
        )  # fmt: skip


async def test_missing_auth_headers_are_an_auth_error_without_echoed_headers(
    busy_sim: SimulatorHandle,
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{busy_sim.rest_url}/v5/order/realtime",
            params={"category": "linear", "symbol": "BTCUSDT"},
            headers={"X-BAPI-SIGN": "deadbeef"},
        )
    error = error_from_http_status(answer.status_code, answer.text)
    assert isinstance(error, AuthError)
    assert "deadbeef" not in str(error)


async def test_a_batch_larger_than_the_quota_grants_is_sent_in_parts(
    busy_api: BybitRestApi,
) -> None:
    requests = [bid("BTCUSDT", number) for number in range(20)]  # the linear batch maximum
    assert busy_api.rest.budget.batch_size("/v5/order/create-batch") < 20  # 10/s, 2 for cancels
    outcomes = await busy_api.send_batch(list(requests))
    assert [outcome.ok for outcome in outcomes] == [True] * 20
    assert [o.ack.order_link_id for o in outcomes] == [r.order_link_id for r in requests]
    assert len(await busy_api.open_orders("linear", "BTCUSDT")) == 20

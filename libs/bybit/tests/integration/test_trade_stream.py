"""Against the real simulator: order entry over the trade WebSocket, and REST when it is down."""

import pytest

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import DuplicateClientOrderId, OrderNotFound
from mm_bybit.order_requests import AmendOrder, CancelOrder, CreateOrder
from mm_bybit.ws_trade import TradeStream
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import SimulatorHandle


def resting_buy(link_id: str, price: str = "50000.0") -> CreateOrder:
    return CreateOrder(
        category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price=price, time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


async def test_orders_go_over_the_socket_and_errors_come_back_typed(
    sim: SimulatorHandle, api: BybitRestApi, credentials: ApiCredentials
) -> None:
    trade = TradeStream(sim.ws_trade_url, credentials, fallback=api)
    trade.start()
    try:
        await eventually(lambda: trade.connection.connected, timeout=5.0)
        ack = await trade.send_order(resting_buy("ws-1"))
        assert ack.order_link_id == "ws-1"
        assert ack.order_id
        amend = AmendOrder(
            category="linear", symbol="BTCUSDT", order_link_id="ws-1", price="50001.0"
        )
        assert (await trade.send_order(amend)).order_id == ack.order_id
        with pytest.raises(DuplicateClientOrderId):
            await trade.send_order(resting_buy("ws-1"))
        cancel = CancelOrder(category="linear", symbol="BTCUSDT", order_link_id="ws-1")
        await trade.send_order(cancel)
        with pytest.raises(OrderNotFound):
            await trade.send_order(cancel)
        outcomes = await trade.send_batch([resting_buy("b-1"), resting_buy("b-1")])
        assert [o.ok for o in outcomes] == [True, False]
        assert isinstance(outcomes[1].error(), DuplicateClientOrderId)
        assert trade.sent_by_rest == 0
        assert trade.sent_by_websocket == 6
    finally:
        await trade.close()
    (order,) = [o for o in await api.open_orders("linear", "BTCUSDT") if o.order_link_id == "b-1"]
    assert order.price == "50000.00"


async def test_when_the_socket_is_down_orders_fall_back_to_rest(
    sim: SimulatorHandle, api: BybitRestApi, credentials: ApiCredentials
) -> None:
    events: list[ConnectionEvent] = []
    trade = TradeStream(
        sim.ws_trade_url, credentials, fallback=api, on_state=events.append,
        backoff=Backoff(base_s=5.0, rng=lambda: 1.0),
    )  # fmt: skip
    trade.start()
    try:
        await eventually(lambda: trade.connection.connected, timeout=5.0)
        await sim.admin.drop_connections("trade")
        await eventually(lambda: any(isinstance(e, Disconnected) for e in events), timeout=5.0)
        ack = await trade.send_order(resting_buy("fallback-1"))
        assert trade.sent_by_rest == 1
        assert trade.sent_by_websocket == 0
    finally:
        await trade.close()
    (order,) = await api.open_orders("linear", "BTCUSDT")
    assert order.order_id == ack.order_id

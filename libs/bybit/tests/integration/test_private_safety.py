"""Against the real simulator: DCP cancels arrive as cancels, and the secret is never logged."""

import logging

import pytest
from pydantic import SecretStr

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.connection_events import ConnectionEvent, Disconnected
from mm_bybit.convert import order_event_from_order
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.order_requests import CreateOrder
from mm_bybit.raw import Order
from mm_bybit.rest import RestClient
from mm_bybit.ws_private import DEFAULT_TOPICS, PrivateHandlers, PrivateStream
from mm_proto import OrderCancelled
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import API_KEY, API_SECRET, SimulatorHandle

ORDER = CreateOrder(
    category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
    price="50000.0", time_in_force="PostOnly", order_link_id="dcp-1",
)  # fmt: skip


async def test_disconnect_cancel_all_shows_up_as_cancel_by_dcp(
    sim: SimulatorHandle, api: BybitRestApi, credentials: ApiCredentials
) -> None:
    orders: list[Order] = []
    stream = PrivateStream(
        sim.ws_private_url, credentials, PrivateHandlers(on_orders=orders.extend),
        topics=(*DEFAULT_TOPICS, "dcp.future"), catch_up=api,
    )  # fmt: skip
    stream.start()
    try:
        await eventually(lambda: stream.connection.connected, timeout=5.0)
        await api.set_disconnect_cancel_window(10)
        await api.send_order(ORDER)
        await eventually(lambda: any(o.order_status == "New" for o in orders))
        await sim.admin.trigger_dcp(1001)
        await eventually(lambda: orders[-1].order_status == "Cancelled", timeout=5.0)
    finally:
        await stream.close()
    instrument = (await load_instruments(api, "linear", ["BTCUSDT"]))["BTCUSDT"]
    event = order_event_from_order(orders[-1], instrument)
    assert isinstance(event, OrderCancelled)
    assert (event.client_order_id, event.reason) == ("dcp-1", "CancelByDCP")


async def test_the_secret_appears_in_no_log_record_even_at_debug(
    sim: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = ApiCredentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))
    wrong_secret = "wrong-secret-value-123"
    wrong = ApiCredentials(api_key=API_KEY, api_secret=SecretStr(wrong_secret))
    events: list[ConnectionEvent] = []
    async with RestClient(sim.rest_url, good) as rest:
        api = BybitRestApi(rest)
        await api.send_order(ORDER)
        refused = PrivateStream(
            sim.ws_private_url, wrong, PrivateHandlers(), catch_up=api,
            on_state=events.append, backoff=Backoff(base_s=5.0),
        )  # fmt: skip
        refused.start()
        try:
            await eventually(lambda: any(isinstance(e, Disconnected) for e in events))
        finally:
            await refused.close()
    assert "refused" in next(e for e in events if isinstance(e, Disconnected)).reason
    assert caplog.records, "debug logging was captured"
    for secret in (API_SECRET, wrong_secret):
        assert secret not in caplog.text
        assert all(secret not in repr(record.args) for record in caplog.records)

"""A trade socket that takes auth but never answers orders: the caller learns "outcome unknown"."""

import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from websockets.asyncio.server import Server, ServerConnection, serve

from mm_bybit.backoff import Backoff
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import RequestTimeout, TransportError
from mm_bybit.order_requests import CreateOrder
from mm_bybit.ws_trade import TradeStream
from mm_runtime.testing.waiting import eventually
from mm_sim.testing import API_KEY

ORDER = CreateOrder(
    category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
    price="50000.0", time_in_force="PostOnly", order_link_id="t-1",
)  # fmt: skip


async def auth_then_silence(connection: ServerConnection) -> None:
    """Answer auth as the venue does, then read orders without ever answering them."""
    async for text in connection:
        message = json.loads(text)
        if message.get("op") == "auth":
            await connection.send(json.dumps({"retCode": 0, "retMsg": "OK", "op": "auth"}))


async def auth_then_hang_up(connection: ServerConnection) -> None:
    """Answer auth, then close the socket as soon as an order arrives."""
    async for text in connection:
        if json.loads(text).get("op") == "auth":
            await connection.send(json.dumps({"retCode": 0, "retMsg": "OK", "op": "auth"}))
        else:
            await connection.close()


@pytest.fixture
def credentials() -> ApiCredentials:
    return ApiCredentials(api_key=API_KEY, api_secret=SecretStr("sim-secret"))


@pytest.fixture
async def silent() -> AsyncIterator[Server]:
    async with serve(auth_then_silence, "127.0.0.1", 0) as server:
        yield server


@pytest.fixture
async def hanging_up() -> AsyncIterator[Server]:
    async with serve(auth_then_hang_up, "127.0.0.1", 0) as server:
        yield server


def url(server: Server) -> str:
    return f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/v5/trade"


async def test_an_unanswered_order_raises_request_timeout(
    silent: Server, credentials: ApiCredentials
) -> None:
    trade = TradeStream(url(silent), credentials, request_timeout_s=0.2)
    trade.start()
    try:
        await eventually(lambda: trade.connection.connected, timeout=5.0)
        with pytest.raises(RequestTimeout, match="outcome unknown"):
            await trade.send_order(ORDER)
    finally:
        await trade.close()


async def test_a_dropped_socket_fails_the_waiting_order_at_once(
    hanging_up: Server, credentials: ApiCredentials
) -> None:
    trade = TradeStream(
        url(hanging_up), credentials, request_timeout_s=30.0,
        backoff=Backoff(base_s=5.0, rng=lambda: 1.0),
    )  # fmt: skip
    trade.start()
    try:
        await eventually(lambda: trade.connection.connected, timeout=5.0)
        with pytest.raises(RequestTimeout, match="connection lost"):
            await trade.send_order(ORDER)
        with pytest.raises(TransportError, match="no REST fallback"):
            await trade.send_order(ORDER)
    finally:
        await trade.close()

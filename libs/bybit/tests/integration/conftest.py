"""Fixtures: a real simulator on loopback and a REST client signed with its published test key."""

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.order_requests import CreateOrder
from mm_bybit.rest import RestClient
from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
    running_simulator,
    simulator_settings,
)


@pytest.fixture
def credentials() -> ApiCredentials:
    return ApiCredentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(simulator_settings()) as handle:
        yield handle


@pytest.fixture
async def api(sim: SimulatorHandle, credentials: ApiCredentials) -> AsyncIterator[BybitRestApi]:
    async with RestClient(sim.rest_url, credentials) as rest:
        await rest.sync_clock()
        yield BybitRestApi(rest)


class FillMaker:
    """Makes our orders trade: rest a post-only 0.001 BTC at our touch, then sweep through it."""

    def __init__(self, sim: SimulatorHandle, api: BybitRestApi) -> None:
        self.sim = sim
        self.api = api

    async def __call__(self, link_id: str, buy: bool) -> None:
        book = await self.sim.admin.book("BTCUSDT", depth=1)
        price = book["b"][0][0] if buy else book["a"][0][0]
        await self.api.send_order(
            CreateOrder(
                category="linear", symbol="BTCUSDT", side="Buy" if buy else "Sell",
                order_type="Limit", qty="0.001", price=price, time_in_force="PostOnly",
                order_link_id=link_id,
            )
        )  # fmt: skip
        await self.sim.admin.trade("BTCUSDT", "Sell" if buy else "Buy", "5")


@pytest.fixture
def make_fill(sim: SimulatorHandle, api: BybitRestApi) -> FillMaker:
    return FillMaker(sim, api)

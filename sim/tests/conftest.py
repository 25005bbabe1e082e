"""Fixtures: a running simulator per test and a signed REST caller (real HMAC, real sockets)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from mm_sim.testing import (
    API_KEY,
    API_SECRET,
    SimulatorHandle,
    running_simulator,
    simulator_settings,
)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(simulator_settings()) as handle:
        yield handle


class Rest:
    """Signs and sends v5 requests the way Bybit documents (timestamp+key+recvWindow+payload)."""

    def __init__(self, base_url: str, key: str = API_KEY, secret: str = API_SECRET) -> None:
        self.base_url = base_url
        self.key = key
        self.secret = secret
        self.last_headers: dict[str, str] = {}
        self.last_status = 0

    def headers(
        self, payload: str, timestamp: int | None = None, recv_window: int = 5000
    ) -> dict[str, str]:
        stamp = str(timestamp if timestamp is not None else time.time_ns() // 1_000_000)
        origin = f"{stamp}{self.key}{recv_window}{payload}"
        signature = hmac.new(self.secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
        return {
            "X-BAPI-API-KEY": self.key,
            "X-BAPI-TIMESTAMP": stamp,
            "X-BAPI-SIGN": signature,
            "X-BAPI-RECV-WINDOW": str(recv_window),
            "Content-Type": "application/json",
        }

    async def get(self, path: str, params: dict[str, str], **header_args: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                # encoded=True: send the query byte for byte, as it was signed
                URL(f"{self.base_url}{path}?{query}", encoded=True),
                headers=self.headers(query, **header_args),
            ) as response,
        ):
            self.last_headers = dict(response.headers)
            self.last_status = response.status
            return dict(await response.json())

    async def post(self, path: str, body: dict[str, Any], **header_args: Any) -> dict[str, Any]:
        payload = json.dumps(body)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.base_url}{path}", data=payload, headers=self.headers(payload, **header_args)
            ) as response,
        ):
            self.last_headers = dict(response.headers)
            self.last_status = response.status
            return dict(await response.json())


@pytest.fixture
async def busy_sim() -> AsyncIterator[SimulatorHandle]:
    """A simulator whose order quota allows the many orders these tests place."""
    async with running_simulator(simulator_settings(order_rate_limit_per_s=1000)) as handle:
        yield handle


@pytest.fixture
def rest(sim: SimulatorHandle) -> Rest:
    return Rest(sim.rest_url)


@pytest.fixture
def rest_class() -> type[Rest]:
    """The signed REST caller class, for tests that start their own simulator."""
    return Rest

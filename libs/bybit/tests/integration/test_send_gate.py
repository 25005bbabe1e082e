"""A request that waits for a rate-budget slot is checked against the send gate again when the
slot comes: a gate that closed meanwhile means the request never reaches the venue; an observer
hears of the request when it leaves, after that wait."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import Fenced
from mm_bybit.order_requests import CreateOrder
from mm_bybit.rest import RestClient
from mm_bybit.send_gate import SEND_GATE, SEND_OBSERVER, check_send_gate
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import SimulatorHandle, running_simulator


def resting_buy(link_id: str) -> CreateOrder:
    return CreateOrder(
        category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price="50000.0", time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def spent_create_slots(
    credentials: ApiCredentials,
) -> AsyncIterator[tuple[SimulatorHandle, BybitRestApi]]:
    """A simulator at Bybit's default 10 creates a second, with this second's slots spent."""
    settings = SimSettings(
        port=0, manual_clock=False, order_rate_limit_per_s=10, admin_open=True,
        market=MarketModelConfig(auto_step=False),
    )  # fmt: skip
    async with running_simulator(settings) as sim, RestClient(sim.rest_url, credentials) as rest:
        api = BybitRestApi(rest)
        await asyncio.gather(*(api.send_order(resting_buy(f"fill-{n}")) for n in range(10)))
        yield sim, api


def test_without_a_gate_nothing_is_refused_and_a_closed_gate_raises_fenced() -> None:
    check_send_gate("order.create")
    token = SEND_GATE.set(lambda: False)
    try:
        with pytest.raises(Fenced, match="not sent"):
            check_send_gate("order.create")
    finally:
        SEND_GATE.reset(token)


async def test_a_gate_closing_while_the_request_waits_for_a_slot_keeps_it_off_the_venue(
    credentials: ApiCredentials,
) -> None:
    async with spent_create_slots(credentials) as (sim, api):
        deadline = time.monotonic() + 0.2  # a lease that runs out while we wait
        token = SEND_GATE.set(lambda: time.monotonic() < deadline)
        try:
            started = time.monotonic()
            with pytest.raises(Fenced):
                await api.send_order(resting_buy("late"))
            waited = time.monotonic() - started
        finally:
            SEND_GATE.reset(token)
        await api.send_order(resting_buy("after"))  # no gate: sent as usual
        rows = (await sim.admin.requests())["list"]
    links = [row["orderLinkId"] for row in rows]
    assert "late" not in links
    assert "after" in links
    assert waited > 0.2  # it did wait for a slot: the gate was asked after the wait


def test_an_observer_is_told_when_the_gate_lets_a_request_through_and_not_when_it_refuses() -> None:
    calls: list[str] = []
    observer = SEND_OBSERVER.set(lambda: calls.append("left"))
    try:
        check_send_gate("order.create")
        gate = SEND_GATE.set(lambda: False)
        try:
            with pytest.raises(Fenced):
                check_send_gate("order.create")
        finally:
            SEND_GATE.reset(gate)
    finally:
        SEND_OBSERVER.reset(observer)
    check_send_gate("order.create")  # no observer any more: nobody is told
    assert calls == ["left"]


async def test_an_observer_is_told_when_a_request_leaves_after_waiting_for_a_slot(
    credentials: ApiCredentials,
) -> None:
    async with spent_create_slots(credentials) as (sim, api):
        left: list[float] = []
        token = SEND_OBSERVER.set(lambda: left.append(time.monotonic()))
        try:
            asked = time.monotonic()
            await api.send_order(resting_buy("waited"))
            answered = time.monotonic()
        finally:
            SEND_OBSERVER.reset(token)
        rows = (await sim.admin.requests())["list"]
    assert "waited" in [row["orderLinkId"] for row in rows]
    assert len(left) == 1
    assert left[0] - asked > 0.2  # told after the wait for a slot, not when it was asked
    assert left[0] <= answered

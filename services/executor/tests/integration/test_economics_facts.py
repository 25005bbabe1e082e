"""The executor's facts for the ledger: order color on EXEC, funding settlements from the venue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import nats
import pytest

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_proto import FundingSettlement, OrderTarget, QuoteLevel, encode, subjects
from mm_runtime.testing import NatsServer, eventually
from mm_sim.testing import API_KEY, API_SECRET, running_simulator

from .conftest import CATEGORY, SYMBOL, VENUE, Harness, sim_settings

FUNDING_INTERVAL_MS = 1000


@pytest.fixture
async def funding_harness(nats_server: NatsServer) -> AsyncIterator[Harness]:
    settings = sim_settings(funding_interval_ms=FUNDING_INTERVAL_MS, funding_rate=Decimal("0.001"))
    async with running_simulator(settings) as sim:
        client = await nats.connect(nats_server.url)
        rest = RestClient(sim.rest_url, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
        harness = Harness(sim, nats_server.url, client, client.jetstream(), BybitRestApi(rest))
        try:
            yield harness
        finally:
            for task, stop, _ in harness.running:
                stop.set()
                await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 15)
            await rest.aclose()
            await client.drain()


async def _green_target(harness: Harness) -> None:
    """One green bid just inside the touch (or at it when the spread is one tick)."""
    bid, ask = await harness.touch()
    price = bid + 1 if ask - bid > 1 else bid
    await harness.heartbeat()
    target = OrderTarget(
        venue=VENUE,
        category=CATEGORY,
        symbol=SYMBOL,
        bids=[QuoteLevel(price_ticks=price, size_lots=5)],
        asks=[],
        target_id="green-1",
        intent_id="green-1",
        ts_target_ns=time.time_ns(),
        color="green",
    )
    await harness.client.publish(subjects.order_target(VENUE, CATEGORY, SYMBOL), encode(target))


async def test_a_green_targets_orders_fills_and_events_all_carry_green(
    funding_harness: Harness,
) -> None:
    harness = funding_harness
    await harness.start_executor(harness.settings())
    await _green_target(harness)

    async def resting_green() -> bool:
        orders = await harness.venue_orders()
        return any(link.endswith("_green") for link, *_ in orders)

    await eventually(resting_green, timeout=10, message="a green order rests")
    await harness.sim.admin.trade(SYMBOL, "Sell", "1")
    fills = await eventually(lambda: harness.stream("exec_fill"), timeout=10, message="a fill")
    assert {fill.color for fill in fills} == {"green"}
    events = await harness.stream("exec_order")
    assert "green" in {event.color for event in events}


async def test_a_venue_funding_settlement_becomes_one_fact_on_exec(
    funding_harness: Harness,
) -> None:
    harness = funding_harness
    await harness.start_executor(harness.settings())

    async def settled() -> list[Any]:
        await harness.sim.admin.step(1)
        return await harness.stream("exec_funding")

    # The executor's own position comes from a fill of its own resting order.
    await _green_target(harness)
    await eventually(lambda: harness.venue_orders(), timeout=10, message="an order rests")
    await harness.sim.admin.trade(SYMBOL, "Sell", "1")
    await eventually(lambda: harness.stream("exec_fill"), timeout=10, message="a fill")
    [settlement, *_] = await eventually(settled, timeout=10, message="funding on EXEC")
    assert isinstance(settlement, FundingSettlement)
    rows = (await harness.sim.admin.executions())["list"]
    [row] = [row for row in rows if row["execId"] == settlement.funding_id]
    assert row["execType"] == "Funding"
    assert settlement.position_lots == round(Decimal(row["execQty"]) * 1000) > 0
    assert Decimal(settlement.fee) == Decimal(row["execFee"]) > 0  # a long pays a positive rate
    assert len({s.funding_id for s in await harness.stream("exec_funding")}) == len(
        await harness.stream("exec_funding")
    )

"""Smoke: risk starts, passes a clean intent through as a target, and heartbeats."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from mm_proto import encode, subjects
from mm_proto.examples import example_instrument
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.testing import eventually
from risk.settings import RiskSettings

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book


async def test_an_intent_within_every_limit_becomes_the_same_target(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.book()
    await eventually(lambda: bus.heartbeats, timeout=5)
    bids, asks = [(MID - 20, 2)], [(MID + 20, 2)]
    await bus.intent(bids, asks, intent_id="clean", ts_tick_ns=123_456_789)
    target = await bus.target_for("clean")
    assert bus.levels(target) == (bids, asks)
    assert not target.cancel_all
    assert target.ts_tick_ns == 123_456_789  # the tick time travels on for tick-to-order


async def test_grids_come_from_the_gateways_stored_definitions(bus: Bus, risk: RiskProcess) -> None:
    js = bus.client.jetstream()
    await ensure_layout(js)
    await store_instrument(js, example_instrument())
    risk.settings = only_symbols(risk.settings, ["BTCUSDT"])
    await risk.start()
    await bus.book()
    await eventually(lambda: bus.heartbeats, timeout=5)
    bids, asks = [(MID - 20, 2)], [(MID + 20, 2)]
    await bus.intent(bids, asks, intent_id="from-kv")
    assert bus.levels(await bus.target_for("from-kv")) == (bids, asks)


async def test_start_fails_naming_symbols_without_a_definition(bus: Bus, risk: RiskProcess) -> None:
    await ensure_layout(bus.client.jetstream())
    risk.settings = only_symbols(risk.settings, ["SOLUSDT"], instrument_wait_s=0.3)
    with pytest.raises(RuntimeError, match=r"no instrument definition for \['SOLUSDT'\]"):
        await risk.start()


def only_symbols(settings: RiskSettings, symbols: list[str], **changes: object) -> RiskSettings:
    """The same settings guarding `symbols`, with grids left to the stored definitions."""
    return settings.model_copy(update={"symbols": symbols, "instruments": {}, **changes})


async def test_a_definition_published_while_risk_waits_is_used(bus: Bus, risk: RiskProcess) -> None:
    await ensure_layout(bus.client.jetstream())
    risk.settings = only_symbols(risk.settings, ["BTCUSDT"], instrument_wait_s=10)
    starting = asyncio.create_task(risk.start())
    btc = example_instrument()
    subject = subjects.instrument("bybit", "linear", "BTCUSDT")

    async def published_until_started() -> bool:
        await bus.client.publish(subject, encode(btc))
        return starting.done()

    await eventually(published_until_started, timeout=10, interval=0.2)
    await starting

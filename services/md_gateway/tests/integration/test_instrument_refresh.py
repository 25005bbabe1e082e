"""A venue's instrument status change reaches the bus and KV; an unreadable venue keeps the last."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nats

from mm_proto import InstrumentDefinition, decode, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import GatewayRig


def statuses(rig: GatewayRig, symbol: str) -> list[str]:
    return [definition.status for definition in rig.recorder.of(InstrumentDefinition, symbol)]


async def stored_status(rig: GatewayRig, symbol: str) -> str:
    client = await nats.connect(rig.nats_server.url)
    try:
        kv = await client.jetstream().key_value(subjects.INSTRUMENT_BUCKET)
        entry = await kv.get(subjects.instrument_key("bybit", "linear", symbol))
        assert entry.value is not None
        return decode(entry.value, InstrumentDefinition).status
    finally:
        await client.close()


async def test_a_status_change_at_the_venue_is_published_and_stored(rig: GatewayRig) -> None:
    settings = rig.settings(instrument_interval_s=0.2)
    async with rig.running(settings):
        await eventually(lambda: "Trading" in statuses(rig, "BTCUSDT"), timeout=5)
        await rig.sim.admin.set_instrument_status("BTCUSDT", "Delivering")
        await eventually(lambda: statuses(rig, "BTCUSDT")[-1] == "Delivering", timeout=5)
        assert await stored_status(rig, "BTCUSDT") == "Delivering"
        await rig.sim.admin.set_instrument_status("BTCUSDT", "Trading")
        await eventually(lambda: statuses(rig, "BTCUSDT")[-1] == "Trading", timeout=5)
        assert await stored_status(rig, "BTCUSDT") == "Trading"


async def test_a_venue_that_cannot_be_read_keeps_the_definitions_in_force(rig: GatewayRig) -> None:
    settings = rig.settings(instrument_interval_s=0.2)
    async with rig.running(settings) as gateway:
        await eventually(lambda: statuses(rig, "BTCUSDT"), timeout=5)
        await rig.sim.admin.set_faults({"rest_error": "http_5xx"})  # every REST call fails
        await rig.sim.admin.set_instrument_status("BTCUSDT", "Delivering")  # unseen
        seen = len(statuses(rig, "BTCUSDT"))
        await eventually(lambda: len(statuses(rig, "BTCUSDT")) >= seen + 3, timeout=5)
        assert set(statuses(rig, "BTCUSDT")) == {"Trading"}  # republished, unchanged
        assert gateway.instruments["BTCUSDT"].status == "Trading"
        failed = {"result": "failed"}
        assert await rig.metric(settings, "md_gateway_instrument_reads_total", failed) >= 3

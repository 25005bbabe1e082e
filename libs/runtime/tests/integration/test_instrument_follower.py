"""The instrument follower keeps each symbol's latest good grid from KV and the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from mm_proto import InstrumentDefinition, encode, subjects
from mm_proto.examples import example_instrument
from mm_runtime import NatsSettings, connect
from mm_runtime.bus import Bus
from mm_runtime.instruments import InstrumentFollower
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing import NatsServer, eventually

BTC = example_instrument()
SUBJECT = subjects.instrument(BTC.venue, BTC.category, BTC.symbol)


class Rig:
    def __init__(self, bus: Bus, metrics: RuntimeMetrics, tasks: TaskSupervisor) -> None:
        self.bus, self.metrics, self.tasks = bus, metrics, tasks
        self.changes: list[InstrumentDefinition] = []

    async def follower(self) -> InstrumentFollower:
        async def on_change(definition: InstrumentDefinition) -> None:
            self.changes.append(definition)

        follower = InstrumentFollower(
            self.bus, self.metrics, BTC.venue, BTC.category, on_change, retry_s=0.05
        )
        await follower.start()
        return follower

    def dropped(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "mm_bus_messages_dropped_total", {"subscription": "instruments", "reason": reason}
        )
        return value or 0.0


@pytest.fixture
async def rig(nats_server: NatsServer) -> AsyncIterator[Rig]:
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    bus = await connect(NatsSettings(url=nats_server.url), "instruments", metrics)
    tasks = TaskSupervisor(registry)
    bus.supervise_with(tasks, "test")
    await ensure_layout(bus.client.jetstream())
    yield Rig(bus, metrics, tasks)
    await tasks.stop()
    await bus.client.close()


async def test_a_stored_definition_is_known_once_started(rig: Rig) -> None:
    await store_instrument(rig.bus.client.jetstream(), BTC)
    follower = await rig.follower()
    assert follower.grids["BTCUSDT"] == BTC.grid()
    assert rig.changes == [BTC]
    await follower.stop()


async def test_a_status_change_on_the_bus_reaches_the_grid_and_the_handler(rig: Rig) -> None:
    await store_instrument(rig.bus.client.jetstream(), BTC)
    follower = await rig.follower()
    settling = msgspec.structs.replace(BTC, status="Settling")
    await rig.bus.publish(SUBJECT, settling)
    await eventually(lambda: not follower.grids["BTCUSDT"].trading, timeout=5)
    assert rig.changes == [BTC, settling]
    await follower.stop()


async def test_the_same_definition_again_is_not_a_change(rig: Rig) -> None:
    await store_instrument(rig.bus.client.jetstream(), BTC)
    follower = await rig.follower()
    for _ in range(3):
        await rig.bus.publish(SUBJECT, BTC)
    await follower.wait_for(["BTCUSDT"], timeout_s=5)
    settling = msgspec.structs.replace(BTC, status="Settling")
    await rig.bus.publish(SUBJECT, settling)  # after the repeats on the same subject
    await eventually(lambda: len(rig.changes) == 2, timeout=5)
    assert rig.changes == [BTC, settling]
    await follower.stop()


async def test_wait_for_names_the_symbols_without_a_grid(rig: Rig) -> None:
    follower = await rig.follower()
    with pytest.raises(RuntimeError, match=r"no instrument definition for \['SOLUSDT'\]"):
        await follower.wait_for(["SOLUSDT"], timeout_s=0.2)
    assert rig.tasks.names == ["test-follow-instruments-bybit.linear.*"]
    await follower.stop()
    assert rig.tasks.names == []  # stopped for good, not restarted


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"venue": "binance"}, "wrong_venue"),
        ({"category": "spot"}, "wrong_venue"),
        ({"status": ""}, "absurd"),
        ({"tick_size": "1e-30"}, "absurd"),
        ({"lot_size": "1e20"}, "absurd"),
    ],
)
async def test_an_absurd_definition_is_a_counted_drop_and_the_last_good_grid_stays(
    rig: Rig, changes: dict[str, str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    follower = await rig.follower()
    await rig.bus.publish(SUBJECT, BTC)
    await eventually(lambda: "BTCUSDT" in follower.grids, timeout=5)
    await rig.bus.publish(SUBJECT, msgspec.structs.replace(BTC, **changes))
    await eventually(lambda: rig.dropped(reason) == 1, timeout=5)
    assert follower.grids["BTCUSDT"] == BTC.grid()
    assert rig.changes == [BTC]
    logged = [r for r in caplog.records if r.name == "mm_runtime.instruments"]
    assert any(getattr(r, "reason", "") == reason for r in logged), logged
    await follower.stop()


async def test_a_malformed_message_is_dropped_and_the_last_good_grid_stays(rig: Rig) -> None:
    follower = await rig.follower()
    await rig.bus.publish(SUBJECT, BTC)
    await eventually(lambda: "BTCUSDT" in follower.grids, timeout=5)
    bad = encode(BTC).replace(b"0.10", b"0.00")  # tick size zero: refused on decode
    await rig.bus.client.publish(SUBJECT, bad)
    await rig.bus.client.publish(SUBJECT, b"\x00not msgpack")
    pattern = subjects.instrument_pattern(BTC.venue, BTC.category)

    def undecodable() -> float:
        labels = {"subscription": pattern, "reason": "undecodable"}
        return rig.metrics.registry.get_sample_value("mm_bus_messages_dropped_total", labels) or 0

    await eventually(lambda: undecodable() == 2, timeout=5)
    assert follower.grids["BTCUSDT"] == BTC.grid()
    await follower.stop()


async def test_a_kv_key_holding_another_symbol_is_dropped(rig: Rig) -> None:
    follower = await rig.follower()
    kv = await rig.bus.client.jetstream().key_value(subjects.INSTRUMENT_BUCKET)
    eth = msgspec.structs.replace(BTC, symbol="ETHUSDT")
    await kv.put(subjects.instrument_key(BTC.venue, BTC.category, "BTCUSDT"), encode(eth))
    await eventually(lambda: rig.dropped("wrong_key") == 1, timeout=5)
    assert follower.grids == {}
    await follower.stop()

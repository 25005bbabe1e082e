"""config-get, -set and -unset on a real bus: one reply shape, vetted like the live path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js.errors import NoKeysError
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    StatusRequest,
    subjects,
)
from mm_runtime import NatsSettings, connect
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import ConfigCommands, follow
from mm_runtime.jetstream import ensure_layout, key_value
from mm_runtime.live_config import ConfigSpec, LiveConfig
from mm_runtime.live_steps import MaxStep
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing import NatsServer, eventually


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    limit: int = Field(default=10, ge=1, le=1_000)


SPEC = ConfigSpec(prefix="knobs", model=Knobs, max_step={"limit": MaxStep(up=2.0)})


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    registry = CollectorRegistry()
    bus = await connect(NatsSettings(url=nats_server.url), "knobs", RuntimeMetrics(registry))
    tasks = TaskSupervisor(registry)
    bus.supervise_with(tasks, "knobs")
    await ensure_layout(bus.client.jetstream())
    yield bus
    await tasks.stop()
    await bus.client.close()


async def started(bus: Bus, stored: dict[str, bytes]) -> tuple[LiveConfig[Knobs], ConfigCommands]:
    bucket = await key_value(bus.client.jetstream(), subjects.CONFIG_BUCKET)
    for key, raw in stored.items():
        await bucket.put(key, raw)
    config = LiveConfig(SPEC, Knobs())
    await follow(config, bus, retry_s=0.1)
    config.go_live()
    return config, ConfigCommands(config, bus)


async def test_set_stores_and_the_follower_applies_it_and_get_shows_entry_and_values(
    bus: Bus,
) -> None:
    config, commands = await started(bus, {})
    stored = await commands.dispatch(ConfigSetRequest(key="knobs.A", value='{"limit": 15}'))
    assert stored == CtlReply(ok=True, message="knobs.A stored; applies live")
    await eventually(lambda: config.values.for_symbol("A").limit == 15, timeout=5)
    shown = await commands.dispatch(ConfigGetRequest(key=""))
    assert shown == CtlReply(
        ok=True,
        message="knobs configuration",
        data={
            "knobs.A": '{"limit": 15}',
            "effective.A": '{"limit":15}',
            "effective.default": '{"limit":10}',
        },
    )
    one = await commands.dispatch(ConfigGetRequest(key="knobs.A"))
    assert one == CtlReply(
        ok=True, message="knobs.A", data={"knobs.A": '{"limit": 15}', "effective.A": '{"limit":15}'}
    )
    missing = await commands.dispatch(ConfigGetRequest(key="knobs.B"))
    assert missing == CtlReply(ok=False, message="no entry 'knobs.B'; keys: ['knobs.A']")


async def test_set_beyond_a_step_or_a_bound_is_refused_and_nothing_is_stored(bus: Bus) -> None:
    config, commands = await started(bus, {})
    for value, why in (('{"limit": 50}', "limit may rise at most 2x"), ('{"limit": 0}', "limit")):
        refused = await commands.dispatch(ConfigSetRequest(key="knobs.default", value=value))
        assert refused is not None
        assert not refused.ok
        assert refused.message.startswith("refused: ")
        assert why in refused.message
    bucket = await key_value(bus.client.jetstream(), subjects.CONFIG_BUCKET)
    with pytest.raises(NoKeysError):
        await bucket.keys()
    assert config.values.default == Knobs()


async def test_unset_removes_a_poisoned_entry_and_the_refusal_goes_with_it(bus: Bus) -> None:
    config, commands = await started(bus, {"knobs.default": b'{"limit": -5}'})
    assert "config_refused.knobs.default" in config.status()
    removed = await commands.dispatch(ConfigUnsetRequest(key="knobs.default"))
    assert removed == CtlReply(ok=True, message="knobs.default removed; applies live")
    await eventually(lambda: config.status() == {}, timeout=5, message="refusal never cleared")


async def test_unset_that_would_loosen_beyond_a_step_is_refused_and_keeps_the_entry(
    bus: Bus,
) -> None:
    config, commands = await started(bus, {"knobs.default": b'{"limit": 2}'})
    refused = await commands.dispatch(ConfigUnsetRequest(key="knobs.default"))
    assert refused is not None
    assert not refused.ok
    assert "limit may rise at most 2x" in refused.message
    assert config.entries() == {"knobs.default": {"limit": 2}}
    nothing = await commands.dispatch(ConfigUnsetRequest(key="knobs.other"))
    assert nothing == CtlReply(ok=False, message="no entry 'knobs.other'; keys: ['knobs.default']")


async def test_answer_replies_to_config_requests_and_refuses_any_other_as_unsupported(
    bus: Bus,
) -> None:
    _, commands = await started(bus, {})
    stored = await commands.answer(ConfigSetRequest(key="knobs.A", value='{"limit": 12}'))
    assert stored == CtlReply(ok=True, message="knobs.A stored; applies live")
    other = await commands.answer(StatusRequest())
    assert other == CtlReply(ok=False, message="unsupported request StatusRequest")

"""A new service is one registry entry: a toy service with a small config model gets its bus user
and grants, its ctl verbs, `mm config get/set` routing, `mm status` and a place in the local stack,
with no other change.

The toy runs in the test against the nats-server the local stack's own spec starts (with the
config the registry renders), connecting with the settings the stack's spec gives it. Its live
config is a pydantic model and its declaration (`TOY_CONFIG`): `mm_runtime.live_config` follows
the stored entry into a running value and `mm_runtime.config_ctl` answers `config-get` and
`config-set` with the reply every service gives.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import KeyNotFoundError
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from mm_cli import operator
from mm_cli.stack import (
    SERVICE_PORT_OFFSET,
    ChildSpec,
    StackLayout,
    Supervisor,
    build_stack,
    free_base_port,
)
from mm_proto import CtlReply, Message, StatusRequest, subjects
from mm_proto.services import REGISTRY, Service
from mm_proto.subjects import CtlVerb
from mm_runtime.barrier import round_trip
from mm_runtime.bus import Bus, connect
from mm_runtime.config_ctl import ConfigCommands, follow
from mm_runtime.control import ControlServer
from mm_runtime.jetstream import key_value
from mm_runtime.live_config import ConfigSpec, LiveConfig
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.settings import CommaList, ServiceSettings, load_settings
from mm_runtime.tasks import TaskSupervisor
from mm_runtime.testing import eventually

TOY = Service(
    "toy",
    verbs=frozenset({CtlVerb.STATUS, CtlVerb.CONFIG_GET, CtlVerb.CONFIG_SET, CtlVerb.CONFIG_UNSET}),
    config_prefix="toy",
    subscribes=(subjects.book_pattern(),),
)
REGISTRY_WITH_TOY = REGISTRY.with_service(TOY)


class ToyParams(BaseModel):
    """The toy's live parameters."""

    model_config = ConfigDict(extra="forbid")
    interval_s: float = Field(default=1.0, gt=0, le=60)


TOY_CONFIG = ConfigSpec(prefix="toy", model=ToyParams)


class ToySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TOY_")
    symbols: CommaList = []


class Toy:
    """The toy's answers: its status, and its live config."""

    def __init__(self, bus: Bus) -> None:
        self.config = LiveConfig(TOY_CONFIG, ToyParams())
        self._config_commands = ConfigCommands(self.config, bus)

    async def dispatch(self, request: Message) -> CtlReply:
        config = await self._config_commands.dispatch(request)
        if config is not None:
            return config
        assert isinstance(request, StatusRequest)
        return CtlReply(ok=True, message="toy running")


@pytest.fixture
def layout(tmp_path: Path) -> StackLayout:
    return StackLayout(tmp_path / "run", base_port=free_base_port(), registry=REGISTRY_WITH_TOY)


@pytest.fixture
async def toy_bus(layout: StackLayout, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bus]:
    """The stack's nats child running, and the toy connected as its spec configures it."""
    specs = {spec.name: spec for spec in build_stack(layout)}
    supervisor = Supervisor([specs["nats"]], layout.log_dir)
    try:
        await supervisor.start(ready_timeout_s=30)
        for name, value in specs["toy"].env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings(ToySettings)
        registry = CollectorRegistry()
        bus = await connect(settings.nats, "toy", RuntimeMetrics(registry))
        tasks = TaskSupervisor(registry)
        bus.supervise_with(tasks, "toy")
        yield bus
        await tasks.stop()
        await bus.drain()
    finally:
        await supervisor.stop()


def test_the_toy_gets_a_place_in_the_local_stack(layout: StackLayout) -> None:
    specs: list[ChildSpec] = build_stack(layout)
    assert [spec.name for spec in specs] == ["nats", "sim", *REGISTRY.names, "toy", "rollout"]
    toy = specs[-2]  # the last service; the rollout controller follows the services
    assert toy.argv[1:] == ["-m", "toy"]
    assert toy.http_port == layout.base_port + SERVICE_PORT_OFFSET + len(REGISTRY)  # the last
    assert len({spec.http_port for spec in specs}) == len(specs)
    assert toy.env["TOY_NATS__USER"] == "toy"
    assert Path(toy.env["TOY_NATS__PASSWORD_FILE"]).is_file()
    assert not [name for name in toy.env if "VENUE" in name]  # no venue access, no keys


async def test_the_toy_answers_mm_config_and_status_on_the_secured_bus(
    layout: StackLayout, toy_bus: Bus
) -> None:
    toy = Toy(toy_bus)
    await follow(toy.config, toy_bus, retry_s=0.1)
    server = ControlServer.of("toy", toy.dispatch, registry=REGISTRY_WITH_TOY)
    await server.start(toy_bus.client)
    await round_trip(toy_bus.client)

    async def mm(command: str, **arguments: str) -> tuple[str, CtlReply]:
        service, verb, request = operator.request_for(
            command, Namespace(**arguments), REGISTRY_WITH_TOY
        )
        return service, await operator.ask(layout.nats_url, layout.bus_dir, service, verb, request)

    stored = await mm("config", action="set", key="toy.default", value='{"interval_s": 2.5}')
    assert stored == ("toy", CtlReply(ok=True, message="toy.default stored; applies live"))
    await eventually(lambda: toy.config.values.default.interval_s == 2.5, timeout=5)
    service, shown = await mm("config", action="get", key="toy.default")
    assert service == "toy"
    assert shown.data == {
        "toy.default": '{"interval_s": 2.5}',
        "effective.default": '{"interval_s":2.5}',
    }
    _, refused = await mm("config", action="set", key="toy.default", value='{"interval_s": 0}')
    assert not refused.ok
    assert "greater than 0" in refused.message
    _, removed = await mm("config", action="unset", key="toy.default")
    assert removed == CtlReply(ok=True, message="toy.default removed; applies live")
    await eventually(lambda: toy.config.values.default == ToyParams(), timeout=5)

    statuses = await operator.status_of_all(layout.nats_url, layout.bus_dir, REGISTRY_WITH_TOY)
    assert statuses["toy"] == CtlReply(ok=True, message="toy running")
    assert [name for name, reply in statuses.items() if reply is not None] == ["toy"]


async def test_the_toy_may_write_only_its_own_config_keys(
    toy_bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = await key_value(toy_bus.client.jetstream(timeout=1.0), subjects.CONFIG_BUCKET)
    await bucket.put("toy.default", b"{}")
    with pytest.raises(NatsTimeoutError):  # the server drops the publish, so no ack comes
        await bucket.put("quoter.default", b"{}")
    with pytest.raises(KeyNotFoundError):
        await bucket.get("quoter.default")
    errors = [str(getattr(record, "error", "")).lower() for record in caplog.records]
    assert any("permissions violation" in error and "config.quoter" in error for error in errors)


def test_a_registry_larger_than_the_port_block_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    registry = REGISTRY
    toys = 11 - len(REGISTRY)  # with the toys, 11 services fill base+20 .. base+30
    for number in range(toys):
        registry = registry.with_service(Service(f"toy{number}", verbs=frozenset()))
    assert StackLayout(tmp_path, registry=registry).http_port(f"toy{toys - 1}") == 14220 + 30
    crowded = registry.with_service(Service("toy-extra", verbs=frozenset()))
    with pytest.raises(ValueError, match=r"holds 11 services' side ports, the registry has 12"):
        StackLayout(tmp_path, registry=crowded)

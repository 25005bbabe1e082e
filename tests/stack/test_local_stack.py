"""The local stack `mm run` starts, run headless for about a minute against the simulator.

It must quote at the venue for every symbol, trade, agree with the venue about positions, carry
one trace from the gateway's tick to the executor's ack across the trading services, answer
`/metrics` on every service, and have the recorder keep the venue's frames of every symbol.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import nats
import pytest
from nats.aio.client import Client
from pydantic import SecretStr

import recorder
from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_cli.stack import StackLayout, Supervisor, build_stack, free_base_port
from mm_proto import HaltRequest, Position, codec, subjects
from mm_proto.services import REGISTRY
from mm_proto.subjects import CtlVerb
from mm_runtime.testing import eventually

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
MIN_FILLS = 5
TRACE = ("md.tick", "quote.compute", "risk.check", "order.send", "order.ack")
FAST_PATH = frozenset(service.name for service in REGISTRY.fast_path())  # not the ledger


class Stack:
    """The running stack and the test's hands on its bus and its venue."""

    def __init__(self, layout: StackLayout, supervisor: Supervisor, client: Client) -> None:
        self.layout = layout
        self.supervisor = supervisor
        self.client = client
        secrets_dir = layout.secrets_dir
        credentials = ApiCredentials(
            api_key=(secrets_dir / "api_key").read_text(),
            api_secret=SecretStr((secrets_dir / "api_secret").read_text()),
        )
        self.rest = RestClient(layout.sim_url, credentials)
        self.venue = BybitRestApi(self.rest)


@pytest.fixture
async def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    for service in REGISTRY.names:
        prefix = service.upper() + "_"
        monkeypatch.setenv(prefix + "TELEMETRY__EXPORTER", "file")
        monkeypatch.setenv(prefix + "TELEMETRY__FILE_PATH", str(tmp_path / f"{service}.spans"))
    monkeypatch.setenv("MD_GATEWAY_TICK_TRACE_INTERVAL", "1")  # the trace test needs any tick
    layout = StackLayout(run_dir=tmp_path / "run", base_port=free_base_port())
    supervisor = Supervisor(build_stack(layout), layout.log_dir)
    try:
        await supervisor.start(ready_timeout_s=60)
        client = await nats.connect(layout.nats_url, **layout.operator_auth())
        running = Stack(layout, supervisor, client)
        yield running
        await client.drain()
        await running.rest.aclose()
    finally:
        await supervisor.stop()
    assert all(child.restarts == 0 for child in supervisor.children), [
        (child.spec.name, child.restarts) for child in supervisor.children
    ]


async def test_the_local_stack_quotes_trades_and_traces_end_to_end(
    stack: Stack, tmp_path: Path
) -> None:
    symbols = stack.layout.symbols

    async def quoting_everywhere() -> bool:
        orders = await stack.venue.open_orders("linear")
        return {order.symbol for order in orders} >= set(symbols)

    await eventually(quoting_everywhere, timeout=30, interval=0.5, message="orders per symbol")

    async def traded() -> bool:
        return len(await stack.venue.executions("linear")) >= MIN_FILLS

    await eventually(traded, timeout=90, interval=1.0, message=f"{MIN_FILLS} fills")
    await halt_and_settle(stack)
    await eventually(
        lambda: positions_agree(stack), timeout=15, interval=0.5, message="positions agree"
    )
    assert full_trace_exists(tmp_path), "no trace spans md.tick to order.ack across services"
    async with aiohttp.ClientSession() as session:
        for service in REGISTRY.names:
            url = f"http://127.0.0.1:{stack.layout.http_port(service)}/metrics"
            async with session.get(url) as reply:
                assert reply.status == 200, service
                assert "mm_ready 1.0" in await reply.text(), service
    # The recorder `mm run` started has kept the venue's frames of every symbol.
    recording = stack.layout.run_dir / "data" / "recorder"
    recorded = {frame.symbol for frame in recorder.read(recording, kinds=[recorder.Kind.VENUE])}
    assert recorded == set(symbols)


async def halt_and_settle(stack: Stack) -> None:
    """Halt (cancel everything, block new orders) so positions stop moving."""
    request = HaltRequest(reason="system test settles positions", operator="test")
    await stack.client.request(subjects.ctl("risk", CtlVerb.HALT), codec.encode(request), timeout=5)

    async def no_orders() -> bool:
        return not await stack.venue.open_orders("linear")

    await eventually(no_orders, timeout=15, interval=0.5, message="halt cancels every order")


async def positions_agree(stack: Stack) -> bool:
    """The last Position per symbol on the EXEC stream equals the venue's, in lots."""
    jetstream = stack.client.jetstream()
    for symbol in stack.layout.symbols:
        venue_rows = await stack.venue.positions("linear", symbol)
        venue_size = sum(Decimal(row.size) * (1 if row.side == "Buy" else -1) for row in venue_rows)
        subject = subjects.exec_position("bybit", "linear", symbol)
        try:
            stored = await jetstream.get_last_msg(subjects.EXEC_STREAM, subject)
        except nats.js.errors.NotFoundError:
            if venue_size:
                return False
            continue
        position = codec.decode(stored.data or b"", Position)
        instruments = await stack.venue.instruments("linear", symbol)
        lot = Decimal(instruments[0].lot_size_filter.qty_step)
        if Decimal(position.size_lots) * lot != venue_size:
            return False
    return True


def full_trace_exists(spans_dir: Path) -> bool:
    """Some trace holds every span of the tick-to-ack chain, from four different services."""
    names: dict[str, set[str]] = defaultdict(set)
    services: dict[str, set[str]] = defaultdict(set)
    for path in spans_dir.glob("*.spans"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            names[span["trace_id"]].add(span["name"])
            services[span["trace_id"]].add(span["service"])
    return any(set(TRACE) <= names[trace] and services[trace] == FAST_PATH for trace in names)

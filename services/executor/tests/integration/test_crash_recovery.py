"""SIGKILL the executor process while orders rest and fills happen, restart it, and check that the
venue's open orders equal the executor's, every venue fill is on the stream exactly once, and the
last position on the stream is the venue's. SIGSTOP it, and the venue hangs up on its silent
sockets and DCP cancels its orders; after SIGCONT it reconciles and trades again. Real processes:
nats-server, the simulator (`python -m mm_sim`) and the executor (`python -m executor`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_proto import (
    CtlReply,
    Fill,
    Heartbeat,
    OrderTarget,
    Position,
    QuoteLevel,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.testing import NatsServer, eventually
from mm_sim.testing import API_KEY, API_SECRET, Admin, simulator_process

SYMBOL = "BTCUSDT"


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    with simulator_process(tmp_path, {"MM_SIM_ORDER_RATE_LIMIT_PER_S": "200"}) as url:
        yield url


def _clean_env() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("EXECUTOR_", "MM_SIM_"))
    }


class ExecutorProcess:
    """`python -m executor` with the local stack's environment names."""

    def __init__(self, tmp_path: Path, nats_url: str, sim_url: str) -> None:
        key_file, secret_file = tmp_path / "key", tmp_path / "secret"
        key_file.write_text(API_KEY)
        secret_file.write_text(API_SECRET)
        self.env = _clean_env() | {
            "EXECUTOR_NATS__URL": nats_url,
            "EXECUTOR_HTTP__PORT": "0",
            "EXECUTOR_SYMBOLS": SYMBOL,
            "EXECUTOR_VENUE__REST_URL": sim_url,
            "EXECUTOR_VENUE__WS_URL": sim_url.replace("http://", "ws://"),
            "EXECUTOR_VENUE__API_KEY_FILE": str(key_file),
            "EXECUTOR_VENUE__API_SECRET_FILE": str(secret_file),
            "EXECUTOR_VENUE__DCP_WINDOW_S": "0",
            "EXECUTOR_WATCHDOG_TIMEOUT_S": "30",
        }
        self.tmp_path = tmp_path
        self.process: subprocess.Popen[bytes] | None = None
        self.lives = 0

    def start(self) -> None:
        self.lives += 1
        with (self.tmp_path / f"executor-{self.lives}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "executor"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def signal(self, number: int) -> int:
        assert self.process is not None
        self.process.send_signal(number)
        return self.process.wait(15)


class Trader:
    """Plays risk (heartbeats and targets around the venue's touch) and the market (trades)."""

    def __init__(self, client: Client, admin: Admin) -> None:
        self.client = client
        self.admin = admin
        self.count = 0

    async def touch(self) -> tuple[int, int]:
        book = await self.admin.book(SYMBOL, depth=1)
        return round(float(book["b"][0][0]) * 10), round(float(book["a"][0][0]) * 10)

    async def quote(self, away: int = 1) -> None:
        bid, ask = await self.touch()
        self.count += 1
        await self.client.publish(
            subjects.heartbeat("risk"),
            encode(Heartbeat(service="risk", instance_id="t", ts_sent_ns=time.time_ns())),
        )
        target = OrderTarget(
            venue="bybit",
            category="linear",
            symbol=SYMBOL,
            bids=[QuoteLevel(price_ticks=bid - away - level, size_lots=5) for level in range(2)],
            asks=[QuoteLevel(price_ticks=ask + away + level, size_lots=5) for level in range(2)],
            target_id=f"t{self.count}",
            intent_id=f"i{self.count}",
            ts_target_ns=time.time_ns(),
        )
        await self.client.publish(subjects.order_target("bybit", "linear", SYMBOL), encode(target))

    async def trade(self, side: str) -> None:
        await self.admin.trade(SYMBOL, side, "1.5")


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.drain()


async def _status(client: Client) -> dict[str, str] | None:
    try:
        reply = await client.request(
            subjects.ctl("executor", "status"), encode(StatusRequest()), timeout=1
        )
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        return None
    data = decode(reply.data, CtlReply).data
    return data if data.get("synced") == "true" else None


async def _executor_orders(client: Client) -> set[tuple[str, str, int, int]]:
    status = await _status(client)
    assert status is not None
    rows = json.loads(status[f"orders.{SYMBOL}"])
    return {(row[0], row[1], row[2], row[3] - row[4]) for row in rows}


async def _venue_orders(api: BybitRestApi) -> set[tuple[str, str, int, int]]:
    return {
        (
            order.order_link_id,
            order.side.lower(),
            round(float(order.price) * 10),
            round(float(order.leaves_qty) * 1000),
        )
        for order in await api.open_orders("linear", SYMBOL)
    }


async def _stream(client: Client, family: str) -> list[Any]:
    js = client.jetstream()
    info = await js.stream_info(subjects.EXEC_STREAM)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(subjects.EXEC_STREAM, sequence)
        parsed = subjects.parse(message.subject or "")
        if parsed.family == family:
            found.append(decode(message.data or b"", parsed.message_type))
    return found


async def test_sigkill_and_restart_keep_orders_fills_and_positions_equal_to_the_venue(
    tmp_path: Path, nats_server: NatsServer, simulator: str, bus: Client
) -> None:
    admin = Admin(simulator)
    trader = Trader(bus, admin)
    executor = ExecutorProcess(tmp_path, nats_server.url, simulator)
    rest = RestClient(simulator, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
    api = BybitRestApi(rest)
    js = bus.jetstream()
    await ensure_layout(js)
    for definition in (await load_instruments(api, "linear", [SYMBOL])).values():
        await store_instrument(js, definition)  # as md_gateway does; the executor waits for it
    try:
        executor.start()
        await eventually(lambda: _status(bus), timeout=30, message="executor synced")
        for round_number in range(6):
            await trader.quote()
            await eventually(lambda: _has_orders(api, 4), timeout=10)
            await trader.trade("Sell" if round_number % 2 else "Buy")
        await trader.quote()
        await eventually(lambda: _has_orders(api, 4), timeout=10)
        for away in (3, 6, 2, 5):  # a burst of changes: the kill lands with requests in flight
            await trader.quote(away)
        await trader.quote()
        assert executor.signal(signal.SIGKILL) == -signal.SIGKILL
        # While it is dead: fills on the bids it left resting; its asks stay to be adopted.
        await trader.trade("Sell")
        executor.start()
        await eventually(lambda: _status(bus), timeout=30, message="executor synced again")
        for round_number in range(4):
            await trader.quote()
            await eventually(lambda: _has_orders(api, 4), timeout=10)
            await trader.trade("Buy" if round_number % 2 else "Sell")
        await trader.quote()
        await eventually(lambda: _views_agree(bus, api), timeout=15, message="orders agree")
        venue_fills = await _venue_fill_ids(admin)
        await eventually(lambda: _fills_exactly_once(bus, venue_fills), timeout=15)
        await eventually(lambda: _position_agrees(bus, api), timeout=15)
        assert executor.signal(signal.SIGTERM) == 0
        assert await _venue_orders(api) == set()
    finally:
        if executor.process is not None and executor.process.poll() is None:
            executor.process.kill()
        await rest.aclose()


async def _has_orders(api: BybitRestApi, count: int) -> bool:
    return len(await _venue_orders(api)) == count


async def _views_agree(bus: Client, api: BybitRestApi) -> bool:
    venue = await _venue_orders(api)
    return len(venue) == 4 and await _executor_orders(bus) == venue


async def _venue_fill_ids(admin: Admin) -> list[str]:
    records = (await admin.executions(1001))["list"]
    return [record["execId"] for record in records if record.get("execType", "Trade") == "Trade"]


async def _fills_exactly_once(bus: Client, venue_fills: list[str]) -> bool:
    fills: list[Fill] = await _stream(bus, "exec_fill")
    ids = [fill.fill_id for fill in fills]
    return len(venue_fills) >= 8 and sorted(ids) == sorted(venue_fills)


async def _position_agrees(bus: Client, api: BybitRestApi) -> bool:
    positions: list[Position] = await _stream(bus, "exec_position")
    venue = (await api.positions("linear", SYMBOL))[0]
    lots = round(float(venue.size or 0) * 1000)
    signed = -lots if venue.side == "Sell" else lots
    return bool(positions) and positions[-1].size_lots == signed


async def test_venue_cancels_a_killed_executors_orders_through_dcp_and_restart_agrees(
    tmp_path: Path, nats_server: NatsServer, simulator: str, bus: Client
) -> None:
    admin = Admin(simulator)
    trader = Trader(bus, admin)
    executor = ExecutorProcess(tmp_path, nats_server.url, simulator)
    executor.env["EXECUTOR_VENUE__DCP_WINDOW_S"] = "3"
    rest = RestClient(simulator, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
    api = BybitRestApi(rest)
    js = bus.jetstream()
    await ensure_layout(js)
    for definition in (await load_instruments(api, "linear", [SYMBOL])).values():
        await store_instrument(js, definition)  # as md_gateway does; the executor waits for it
    try:
        executor.start()
        await eventually(lambda: _status(bus), timeout=30, message="executor synced")
        await trader.quote()
        await eventually(lambda: _has_orders(api, 4), timeout=10)
        assert executor.signal(signal.SIGKILL) == -signal.SIGKILL
        await eventually(lambda: _has_orders(api, 0), timeout=15, message="dcp cancels")
        history = await api.rest.get_result(
            "/v5/order/realtime",
            {"category": "linear", "symbol": SYMBOL, "openOnly": 1, "limit": 50},
            dict,
        )
        cancel_types = {order.get("cancelType") for order in history.get("list", [])}
        assert "CancelByDCP" in cancel_types
        executor.start()
        await eventually(lambda: _status(bus), timeout=30, message="executor synced again")
        assert await _executor_orders(bus) == set()
        assert executor.signal(signal.SIGTERM) == 0
    finally:
        if executor.process is not None and executor.process.poll() is None:
            executor.process.kill()
        await rest.aclose()


PING_TIMEOUT_S = 3.0
DCP_WINDOW_S = 3


@pytest.fixture
def strict_simulator(tmp_path: Path) -> Iterator[str]:
    """The simulator closing private/trade sockets that send no ping for PING_TIMEOUT_S."""
    settings = {
        "MM_SIM_ORDER_RATE_LIMIT_PER_S": "200",
        "MM_SIM_WS_PING_TIMEOUT_S": str(PING_TIMEOUT_S),
    }
    with simulator_process(tmp_path, settings) as url:
        yield url


async def _quoted(trader: Trader, api: BybitRestApi) -> bool:
    await trader.quote()
    return await _has_orders(api, 4)


async def test_a_frozen_executors_orders_go_within_ping_timeout_and_dcp_window_then_it_resumes(
    tmp_path: Path, nats_server: NatsServer, strict_simulator: str, bus: Client
) -> None:
    trader = Trader(bus, Admin(strict_simulator))
    executor = ExecutorProcess(tmp_path, nats_server.url, strict_simulator)
    executor.env["EXECUTOR_VENUE__DCP_WINDOW_S"] = str(DCP_WINDOW_S)
    executor.env["EXECUTOR_VENUE__WS_PING_INTERVAL_S"] = "1"
    rest = RestClient(strict_simulator, ApiCredentials(api_key=API_KEY, api_secret=API_SECRET))
    api = BybitRestApi(rest)
    js = bus.jetstream()
    await ensure_layout(js)
    for definition in (await load_instruments(api, "linear", [SYMBOL])).values():
        await store_instrument(js, definition)  # as md_gateway does; the executor waits for it
    try:
        executor.start()
        await eventually(lambda: _status(bus), timeout=30, message="executor synced")
        await trader.quote()
        await eventually(lambda: _has_orders(api, 4), timeout=10)
        # Still resting after more than a ping timeout: the live executor's pings keep it open.
        await eventually(lambda: _has_orders(api, 4), timeout=1)
        assert executor.process is not None
        executor.process.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        bound_s = PING_TIMEOUT_S + DCP_WINDOW_S + 2  # + polling and scheduling slack
        await eventually(lambda: _has_orders(api, 0), bound_s, 0.1, "venue cancels (DCP)")
        elapsed = time.monotonic() - frozen_at
        assert elapsed >= PING_TIMEOUT_S + DCP_WINDOW_S - 0.5
        history = await api.closed_orders("linear", SYMBOL)
        assert {order.cancel_type for order in history} >= {"CancelByDCP"}

        executor.process.send_signal(signal.SIGCONT)
        await eventually(lambda: _quoted(trader, api), 30, 0.5, "trading again after SIGCONT")
        assert executor.signal(signal.SIGTERM) == 0
    finally:
        if executor.process is not None and executor.process.poll() is None:
            executor.process.send_signal(signal.SIGCONT)
            executor.process.kill()
        await rest.aclose()

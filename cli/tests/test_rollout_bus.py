"""`mm rollout` against a real nats-server and the real quoter: refusals store nothing and leave
the live config as it was; a rollout moves the green symbols and only those; the controller acts
on the KPI stream, announces each transition once and promotes through the quoter's config-set."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from mm_cli.app import build_parser
from mm_cli.report_command import read_snapshots
from mm_cli.report_window import Window
from mm_cli.rollout_command import main as rollout_main
from mm_cli.rollout_control import RolloutStore, announce_last, look
from mm_proto import (
    BookTop,
    ConfigGetRequest,
    CtlReply,
    KpiSnapshot,
    QuoteIntent,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_proto.rollout import ABORTED, PROMOTED, RAMPING, RolloutEvent, RolloutState
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer, eventually
from quoter.service import QuoterService
from quoter.settings import QuoterSettings

S = 1_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")
GRID = {"tick_size": "0.1", "lot_size": "0.001", "min_qty": "0.001", "min_notional": "5"}
PARAMS = {"min_spread_bps": 2.0, "level_size_lots": 10, "max_inventory_lots": 50}


@dataclass
class Bus:
    url: str
    client: Client
    tmp: Path

    async def mm(self, *argv: str) -> int:
        arguments = build_parser().parse_args(
            ["rollout", *argv, "--nats", self.url, "--bus-dir", str(self.tmp / "no-bus")]
        )
        return await rollout_main(arguments, {})

    async def quoter(self, verb: str, request: Any) -> CtlReply:
        reply = await self.client.request(subjects.ctl("quoter", verb), encode(request), timeout=3)
        return decode(reply.data, CtlReply)

    async def params(self) -> dict[str, dict[str, Any]]:
        status = (await self.quoter("status", StatusRequest())).data
        return {symbol: json.loads(status[f"{symbol}.params"]) for symbol in SYMBOLS}

    async def stored(self) -> bytes | None:
        bucket = await key_value(self.client.jetstream(), subjects.ROLLOUT_BUCKET)
        try:
            return (await bucket.get(subjects.ROLLOUT_KEY)).value
        except nats.js.errors.KeyNotFoundError:
            return None

    async def state(self) -> RolloutState:
        raw = await self.stored()
        assert raw is not None
        return decode(raw, RolloutState)

    async def events(self) -> list[RolloutEvent]:
        js = self.client.jetstream()
        info = await js.stream_info(subjects.ROLLOUT_STREAM)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(subjects.ROLLOUT_STREAM, seq)
            found.append(decode(message.data or b"", RolloutEvent))
        return found


@pytest.fixture
async def bus(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Bus]:
    client = await nats.connect(nats_server.url)
    await ensure_layout(client.jetstream())
    settings = load_settings(
        QuoterSettings,
        nats={"url": nats_server.url},
        instruments=[{"symbol": symbol, **GRID} for symbol in SYMBOLS],
        params=PARAMS,
        timer_interval_s=0.05,
        bind_retry_s=0.1,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(QuoterService(settings), settings, stop, ready))
    await asyncio.wait_for(ready.wait(), timeout=10)
    yield Bus(nats_server.url, client, tmp_path)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    await client.drain()


START = ("start", "--candidate", '{"min_spread_bps": 3.0}', "--ramp", "50,100", "--window", "1",
         "--cooldown", "1", "--id", "r1")  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (("--ramp", "50,25,100"), "must rise"),
        (("--ramp", "25,50"), "must end at 100"),
        (("--split", "75"), "exceeds the ramp's current step"),
        (("--window", "0"), "step window must be above 0"),
        (("--cooldown", "0"), "cooldown must be above 0"),
        (("--candidate", '{"min_spread_bps": 2.0}'), "equals blue"),
        (("--candidate", '{"max_inventory_lots": 5}'), "at least one level's size"),
        (("--candidate", '{"cooldown_s": 5}'), "needs an event"),
        (("--candidate", "[1]"), "JSON object"),
        (("--symbols", "BTCUSDT,BTCUSDT"), "listed once"),
    ],
)
async def test_a_refused_start_stores_nothing_and_leaves_the_live_config_unchanged(
    bus: Bus, argv: tuple[str, ...], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config_before = await bus.quoter("config-get", ConfigGetRequest(key=""))
    params_before = await bus.params()
    assert await bus.mm(*START, *argv) == 1
    assert why in capsys.readouterr().err
    assert await bus.stored() is None
    assert await bus.params() == params_before
    config_after = await bus.quoter("config-get", ConfigGetRequest(key=""))
    assert config_after == config_before


async def _intents(bus: Bus) -> list[QuoteIntent]:
    seen: list[QuoteIntent] = []

    async def keep(msg: Msg) -> None:
        seen.append(decode(msg.data, QuoteIntent))

    await bus.client.subscribe(subjects.quote_intent_pattern(), cb=keep)
    return seen


async def _books(bus: Bus, update_id: int) -> None:
    now = time.time_ns()
    for symbol in SYMBOLS:
        top = BookTop(
            venue="bybit", category="linear", symbol=symbol, bid_price_ticks=1_000_000,
            bid_size_lots=5, ask_price_ticks=1_000_010, ask_size_lots=5, update_id=update_id,
            ts_exchange_ns=now, ts_gateway_ns=now,
        )  # fmt: skip
        await bus.client.publish(subjects.book("bybit", "linear", symbol), encode(top))


async def test_a_rollout_moves_only_the_green_symbols_and_abort_brings_them_back(bus: Bus) -> None:
    intents = await _intents(bus)
    assert await bus.mm(*START) == 0
    state = await bus.state()
    (green,) = state.green_symbols  # 50 % of two symbols
    (blue,) = set(SYMBOLS) - {green}

    async def moved() -> bool:
        params = await bus.params()
        return bool(params[green]["color"] == "green" and params[green]["min_spread_bps"] == 3.0)

    await eventually(moved, timeout=5, message="green symbol on the candidate")
    params = await bus.params()
    assert (params[blue]["color"], params[blue]["min_spread_bps"]) == ("blue", 2.0)
    assert await bus.mm("start", "--candidate", '{"levels": 2}', "--id", "r2") == 1  # one at a time
    # One ladder per symbol, of one color: the colors never rest on the same book, so a
    # post-only order of one can never meet the other's.
    await _books(bus, 1)
    colors = await eventually(lambda: _latest_colors(intents), timeout=5, message="intents")
    assert colors == {green: "green", blue: "blue"}
    for intent in (i for i in intents if i.bids and i.asks):
        assert max(lv.price_ticks for lv in intent.bids) < min(lv.price_ticks for lv in intent.asks)

    assert await bus.mm("abort") == 0
    assert (await bus.state()).phase == ABORTED

    async def back() -> bool:
        params = await bus.params()
        return all(p["color"] == "blue" and p["min_spread_bps"] == 2.0 for p in params.values())

    await eventually(back, timeout=5, message="every symbol back on blue")
    events = await bus.events()
    assert [(e.seq, e.action) for e in events] == [(1, "start"), (2, "abort")]
    assert "aborted by the operator" in events[1].reason


async def test_an_unreadable_rollout_state_puts_every_symbol_on_blue(bus: Bus) -> None:
    assert await bus.mm(*START) == 0
    await eventually(
        lambda: _any_green(bus), timeout=5, message="a symbol on green before the garbage"
    )
    bucket = await key_value(bus.client.jetstream(), subjects.ROLLOUT_BUCKET)
    await bucket.put(subjects.ROLLOUT_KEY, b"\x93not a state")

    async def all_blue() -> bool:
        return not await _any_green(bus)

    await eventually(all_blue, timeout=5, message="every symbol back on blue")
    assert await bus.mm("abort") == 1  # the controller will not act on what it cannot read


def _latest_colors(intents: list[QuoteIntent]) -> dict[str, str] | None:
    latest = {intent.symbol: intent.color for intent in intents if intent.bids and intent.asks}
    return latest if len(latest) == len(SYMBOLS) else None


async def _any_green(bus: Bus) -> bool:
    return any(p["color"] == "green" for p in (await bus.params()).values())


def _kpi(color: str, start_ns: int, rejects: int = 0) -> list[KpiSnapshot]:
    common: dict[str, Any] = {
        "venue": "bybit", "category": "linear", "symbol": "BTCUSDT", "color": color,
        "ts_start_ns": start_ns, "ts_end_ns": start_ns + S,
    }  # fmt: skip
    return [
        KpiSnapshot(
            **common,
            side="buy",
            fills=10,
            maker_fills=10,
            notional="1000",
            net_pnl="1",
            markout_quote={"10s": "0.1"},
            markout_notional={"10s": "1000"},
            markout_fills={"10s": 10},
            toxic_fills={"10s": 1},
            orders_created=20,
            rejects={"10001": rejects} if rejects else {},
        ),
        KpiSnapshot(**common, side="all", observed_nanos=S, two_sided_nanos=S),
    ]


async def _store_kpis(bus: Bus, rows: list[KpiSnapshot]) -> None:
    for n, row in enumerate(rows):
        subject = subjects.kpi(row.venue, row.category, row.symbol)
        await publish_fact(
            bus.client.jetstream(), subject, row, f"{row.color}.{row.ts_start_ns}.{n}"
        )


def _reader(bus: Bus) -> Any:
    async def read(since_ns: int) -> list[KpiSnapshot]:
        return await read_snapshots(bus.url, {}, Window(since_ns, time.time_ns()))

    return read


async def test_the_controller_advances_then_promotes_through_the_quoters_config_set(
    bus: Bus,
) -> None:
    assert await bus.mm(*START) == 0
    started = await bus.state()
    await _store_kpis(
        bus, _kpi("blue", started.ts_started_ns + S) + _kpi("green", started.ts_started_ns + S)
    )
    store = RolloutStore(bus.client)
    said = await look(store, _reader(bus), now_ns=started.ts_started_ns + 3 * S)
    assert said.startswith("advance"), said
    stepped = await bus.state()
    assert (stepped.step_index, stepped.split_pct, sorted(stepped.green_symbols)) == (
        1, 100, sorted(SYMBOLS),
    )  # fmt: skip
    await eventually(lambda: _all_green(bus), timeout=5, message="both symbols on green")

    await _store_kpis(bus, _kpi("green", stepped.ts_step_started_ns + S))
    said = await look(store, _reader(bus), now_ns=stepped.ts_step_started_ns + 3 * S)
    assert said.startswith("promote"), said
    assert (await bus.state()).phase == PROMOTED
    entry = await bus.quoter("config-get", ConfigGetRequest(key="quoter.default"))
    assert json.loads(entry.data["quoter.default"])["min_spread_bps"] == 3.0

    async def promoted() -> bool:
        params = await bus.params()
        return all(p["color"] == "blue" and p["min_spread_bps"] == 3.0 for p in params.values())

    await eventually(promoted, timeout=5, message="green's values are the new blue")
    # A controller started again re-announces the last transition; the stream keeps it once.
    await announce_last(store)
    await announce_last(store)
    assert [e.action for e in await bus.events()] == ["start", "advance", "promote"]
    assert (await bus.events())[1].kpis["green.fills"] == "10"


async def test_a_breach_rolls_back_at_once_with_the_reason(
    bus: Bus, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await bus.mm(*START, "--window", "3600") == 0
    started = await bus.state()
    rows = _kpi("blue", started.ts_started_ns + S) + _kpi(
        "green", started.ts_started_ns + 400 * S, rejects=5
    )
    await _store_kpis(bus, rows)
    store = RolloutStore(bus.client)
    assert (await look(store, _reader(bus))).startswith("holding")  # under a quarter of the step
    assert (await bus.state()).ts_evaluated_ns > 0  # a holding controller says it looked
    said = await look(store, _reader(bus), now_ns=started.ts_started_ns + 1000 * S)
    assert said.startswith("rollback"), said
    state = await bus.state()
    assert state.phase != RAMPING
    assert await bus.mm("status") == 0
    shown = capsys.readouterr().out
    assert "rolled_back" in shown
    assert "the controller last looked" in shown
    assert "gate.rejects_per_1000: FAIL" in shown
    assert "rejects_per_1000" in state.reason
    await eventually(lambda: _not(_any_green(bus)), timeout=5, message="back on blue")


async def _all_green(bus: Bus) -> bool:
    return all(p["color"] == "green" for p in (await bus.params()).values())


async def _not(check: Any) -> bool:
    return not await check

"""No judge, no canary, against a real nats-server and the real quoter: with the rollout
controller (`mm rollout run`) stopped mid-rollout the green symbol quotes blue within the bound
(three look intervals) and says why; with it running again the symbol is back on green and the
step's window starts over; a state that decodes but no controller wrote puts every symbol on
blue, counted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client

from mm_cli.app import build_parser
from mm_cli.rollout_command import main as rollout_main
from mm_proto import CtlReply, StatusRequest, decode, encode, subjects
from mm_proto.rollout import RAMPING, RolloutState, unjudged_after_ns
from mm_runtime.jetstream import ensure_layout, key_value
from mm_runtime.lifecycle import serve
from mm_runtime.settings import SettingsError, load_settings
from mm_runtime.testing import NatsServer, eventually
from quoter.service import QuoterService
from quoter.settings import QuoterSettings

S = 1_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT")
GRID = {"tick_size": "0.1", "lot_size": "0.001", "min_qty": "0.001", "min_notional": "5"}
PARAMS = {"min_spread_bps": 2.0, "level_size_lots": 10, "max_inventory_lots": 50}
LOOK_S = 0.5  # the controller's interval here, and the quoter's: a bound of 1.5 s
START = ("start", "--candidate", '{"min_spread_bps": 3.0}', "--ramp", "50,100",
         "--window", "3600", "--cooldown", "1", "--id", "r1")  # fmt: skip


@dataclass
class Stack:
    url: str
    client: Client
    tmp: Path
    quoter: QuoterService
    controller: asyncio.Task[int] | None = None

    async def mm(self, *argv: str) -> int:
        arguments = build_parser().parse_args(
            ["rollout", *argv, "--nats", self.url, "--bus-dir", str(self.tmp / "no-bus")]
        )
        return await rollout_main(arguments, {})

    def start_controller(self) -> None:
        self.controller = asyncio.create_task(self.mm("run", "--interval", str(LOOK_S)))

    async def stop_controller(self) -> None:
        if self.controller is not None:
            self.controller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.controller
            self.controller = None

    async def status(self) -> dict[str, str]:
        reply = await self.client.request(
            subjects.ctl("quoter", "status"), encode(StatusRequest()), timeout=3
        )
        return decode(reply.data, CtlReply).data

    async def colors(self) -> dict[str, str]:
        status = await self.status()
        return {s: json.loads(status[f"{s}.params"])["color"] for s in SYMBOLS}

    def suspensions(self, kind: str) -> float:
        value = self.quoter.runtime.registry.get_sample_value(
            "quoter_rollout_suspensions_total", {"kind": kind}
        )
        return value or 0.0

    async def state(self) -> RolloutState:
        bucket = await key_value(self.client.jetstream(), subjects.ROLLOUT_BUCKET)
        return decode((await bucket.get(subjects.ROLLOUT_KEY)).value or b"", RolloutState)

    async def put(self, raw: bytes) -> None:
        bucket = await key_value(self.client.jetstream(), subjects.ROLLOUT_BUCKET)
        await bucket.put(subjects.ROLLOUT_KEY, raw)


@contextlib.asynccontextmanager
async def _stack(url: str, tmp: Path, look_s: float) -> AsyncIterator[Stack]:
    client = await nats.connect(url)
    await ensure_layout(client.jetstream())
    settings = load_settings(
        QuoterSettings,
        nats={"url": url},
        instruments=[{"symbol": symbol, **GRID} for symbol in SYMBOLS],
        params=PARAMS,
        timer_interval_s=0.05,
        bind_retry_s=0.1,
        rollout_look_interval_s=look_s,
    )
    service = QuoterService(settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(service, settings, stop, ready))
    await asyncio.wait_for(ready.wait(), timeout=10)
    stack = Stack(url, client, tmp, service)
    try:
        yield stack
    finally:
        await stack.stop_controller()
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await client.drain()


@pytest.fixture
async def stack(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Stack]:
    async with _stack(nats_server.url, tmp_path, LOOK_S) as running:
        yield running


async def _green_on(stack: Stack, symbol: str) -> bool:
    return (await stack.colors())[symbol] == "green"


async def _all_blue(stack: Stack) -> bool:
    return set((await stack.colors()).values()) == {"blue"}


async def test_green_quotes_blue_while_no_controller_looks_and_green_again_when_one_does(
    stack: Stack,
) -> None:
    assert await stack.mm(*START) == 0
    (green,) = (await stack.state()).green_symbols
    stack.start_controller()
    await eventually(lambda: _green_on(stack, green), timeout=5, message="green on the candidate")
    assert (await stack.status())["rollout.in_force"] == "true"
    counted = stack.suspensions("unjudged")  # 0, or 1 had the controller been slow to start

    await stack.stop_controller()
    looked = (await stack.state()).ts_judged_ns
    await eventually(lambda: _all_blue(stack), timeout=10, message="green back on blue")
    # Not before the bound: the quoter waited for three missed looks.
    assert time.time_ns() - looked >= unjudged_after_ns(LOOK_S)
    status = await stack.status()
    assert status["rollout.in_force"] == "false"
    assert "no rollout controller has looked" in status["rollout.suspended"]
    assert stack.suspensions("unjudged") == counted + 1
    held = await stack.state()  # the quoter never writes the rollout: it only stops trusting it
    assert (held.phase, held.step_index, held.green_symbols) == (RAMPING, 0, [green])
    assert held.ts_judged_ns == looked

    stack.start_controller()
    await eventually(lambda: _green_on(stack, green), timeout=10, message="green again")
    resumed = await stack.state()
    # The time green was not judged does not count: the step's window starts at the return.
    assert resumed.ts_step_started_ns > held.ts_step_started_ns
    assert resumed.ts_step_started_ns >= looked + unjudged_after_ns(LOOK_S)
    assert (resumed.seq, resumed.action) == (held.seq, "start")  # not a transition: no event
    status = await stack.status()
    assert (status["rollout.in_force"], status["rollout.suspended"]) == ("true", "")


def _forgeries(state: RolloutState) -> dict[str, RolloutState]:
    now = time.time_ns()
    return {
        "future stamp": msgspec.structs.replace(state, ts_evaluated_ns=now + 3600 * S),
        "stray green": msgspec.structs.replace(state, green_symbols=["BTCUSDT", "XRPUSDT"]),
        "split beyond step": msgspec.structs.replace(state, split_pct=100, ts_evaluated_ns=now),
        "step beyond ramp": msgspec.structs.replace(state, step_index=5, ts_evaluated_ns=now),
        "unknown phase": msgspec.structs.replace(state, phase="forever", ts_evaluated_ns=now),
    }


@pytest.mark.parametrize(
    "forgery",
    ["future stamp", "stray green", "split beyond step", "step beyond ramp", "unknown phase"],
)
async def test_a_forged_state_puts_every_symbol_on_blue_counted(
    nats_server: NatsServer, tmp_path: Path, forgery: str
) -> None:
    async with _stack(nats_server.url, tmp_path, 5.0) as stack:  # a 15 s bound: no race here
        assert await stack.mm(*START) == 0
        state = await stack.state()
        (green,) = state.green_symbols
        await eventually(lambda: _green_on(stack, green), timeout=5, message="green")
        await stack.put(encode(_forgeries(state)[forgery]))
        await eventually(lambda: _all_blue(stack), timeout=5, message="every symbol on blue")
        assert stack.suspensions("forged") == 1
        assert (await stack.status())["rollout.suspended"]


async def test_garbage_in_the_rollout_entry_puts_every_symbol_on_blue_counted(
    stack: Stack,
) -> None:
    assert await stack.mm(*START) == 0
    (green,) = (await stack.state()).green_symbols
    stack.start_controller()  # looking throughout: only the garbage can put green on blue
    await eventually(lambda: _green_on(stack, green), timeout=5, message="green")
    await stack.put(b"\x00garbage")
    await eventually(lambda: _all_blue(stack), timeout=5, message="every symbol on blue")
    assert stack.suspensions("unreadable") == 1


@pytest.mark.parametrize("interval", ["0", "-1", "61", "nan"])
async def test_a_controller_interval_the_quoter_cannot_bound_is_refused(
    tmp_path: Path, interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before it connects: no bus is needed to say so.
    arguments = build_parser().parse_args(["rollout", "run", "--interval", interval,
                                           "--nats", "nats://127.0.0.1:1",
                                           "--bus-dir", str(tmp_path)])  # fmt: skip
    assert await rollout_main(arguments, {}) == 1
    assert "look interval must be in (0, 60] s" in capsys.readouterr().err


@pytest.mark.parametrize("interval", [0.0, -1.0, 61.0, float("inf")])
def test_the_quoter_refuses_a_look_interval_it_cannot_bound(interval: float) -> None:
    with pytest.raises(SettingsError, match="look interval must be in"):
        load_settings(QuoterSettings, symbols=["BTCUSDT"], rollout_look_interval_s=interval)

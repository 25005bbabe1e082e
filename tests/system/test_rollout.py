"""The canary rollout on the simulator, with the controller (`mm rollout run`) the stack's own
supervised child.

A worse green (an inventory limit of one lot, below what the symbol already holds or reaches
after a fill: it quotes one side only) is rolled back automatically by the gate's presence
check; then a better green (wider quotes) is promoted through every step of its ramp.
Mid-rollout the controller is frozen (SIGSTOP) and the quoter, risk and the ledger are each
SIGKILLed: the stored state does not move while they are down, the restarted quoter holds the
green symbol on blue while no controller looks (no judge, no canary), and once the controller is
SIGKILLed and restarted by the supervisor the symbol is green again and the rollout carries on
to the same verdicts with no repeated event.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from mm_cli.app import build_parser
from mm_cli.rollout_command import main as rollout_main
from mm_cli.stack import CONTROLLER
from mm_proto import (
    ConfigGetRequest,
    CtlReply,
    RolloutEvent,
    RolloutState,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_proto.rollout import PROMOTED, ROLLED_BACK
from mm_runtime.jetstream import key_value
from mm_runtime.testing import eventually
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = pytest.mark.system
ENV = {
    **TRADING_ENV,
    "ledger": {
        "LEDGER_SNAPSHOT_INTERVAL_S": "1",
        "LEDGER_EXEC_ACK_WAIT_S": "6",
        "LEDGER_REORDER_HOLD_MS": "500",
    },
}
# What the rollouts are judged on in a test-length window: presence decides (the worse green
# quotes one side), the checks a few seconds of fills make noisy only catch the absurd (a FAIL of
# any check fails the gate, required or not). Tick-to-order is loose: on the simulator's default
# order-rate tier it is a few hundred ms (docs/benchmarks.md), which is not what a rollout judges.
GATE = """[gate]
presence_min = 0.5
net_per_notional_bps_min = -100.0
markout_10s_bps_min = -100.0
toxic_share_max = 1.0
rejects_per_1000_orders_max = 100.0
min_fills = 1
tick_to_order_p99_ms_max = 5000.0
required = ["taker_share", "rejects_per_1000", "presence"]
"""
SYMBOLS = ("BTCUSDT", "ETHUSDT")


async def _mm(running: RunningStack, *argv: str) -> int:
    layout = running.stack.layout
    bus = ["--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir)]
    arguments = build_parser().parse_args(["rollout", *argv, *bus])
    return await rollout_main(arguments, layout.operator_auth())


async def _raw_state(running: RunningStack) -> bytes:
    bucket = await key_value(running.client.jetstream(), subjects.ROLLOUT_BUCKET)
    value = (await bucket.get(subjects.ROLLOUT_KEY)).value
    assert value is not None
    return value


async def _state(running: RunningStack) -> RolloutState:
    return decode(await _raw_state(running), RolloutState)


async def _events(running: RunningStack, rollout_id: str) -> list[RolloutEvent]:
    js = running.client.jetstream()
    info = await js.stream_info(subjects.ROLLOUT_STREAM)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        event = decode((await js.get_msg(subjects.ROLLOUT_STREAM, seq)).data or b"", RolloutEvent)
        if event.rollout_id == rollout_id:
            found.append(event)
    return found


async def _ask(running: RunningStack, service: str, verb: str, request: Any) -> CtlReply:
    reply = await running.client.request(subjects.ctl(service, verb), encode(request), timeout=3)
    return decode(reply.data, CtlReply)


async def _colors(running: RunningStack) -> dict[str, tuple[str, float]] | None:
    """Each symbol's color and min_spread_bps in the quoter, or None while it does not answer."""
    try:
        status = (await _ask(running, "quoter", "status", StatusRequest())).data
    except Exception:
        return None
    if not all(f"{symbol}.params" in status for symbol in SYMBOLS):
        return None  # a restarted quoter lists a symbol once it has its parameters
    params = {symbol: json.loads(status[f"{symbol}.params"]) for symbol in SYMBOLS}
    return {s: (p["color"], p["min_spread_bps"]) for s, p in params.items()}


async def _phase(running: RunningStack, rollout_id: str, phase: str) -> bool:
    state = await _state(running)
    return state.rollout_id == rollout_id and state.phase == phase


async def _kill_and_wait(running: RunningStack, service: str) -> None:
    killed = running.stack.kill(service)
    await eventually(
        lambda: running.stack.pids().get(service) not in (None, killed),
        timeout=30,
        message=f"{service} restarted",
    )


# Out of make test until it is steady: in 1 of 5 runs (a fresh-clone CI run) the better
# green was not promoted within 90 s (its gate windows judge a few seconds of simulated flow).
# The rollout's state machine, its promotion through config-set and the unjudged fallback are
# covered in make test by cli/tests/test_rollout_bus.py and cli/tests/test_rollout_unjudged.py.
@pytest.mark.skipif(
    os.environ.get("MM_CHAOS_LONG", "") != "1",
    reason="long form: set MM_CHAOS_LONG=1 (promotion missed its 90 s bound in 1 of 5 runs)",
)
@pytest.mark.timeout(240)
async def test_a_worse_green_rolls_back_and_a_better_one_is_promoted_through_kills(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate.toml"
    gate.write_text(GATE)
    running = await start_stack(tmp_path / "run", env=ENV)
    common = ("--ramp", "50,100", "--cooldown", "1", "--tolerance", "5", "--gate", str(gate))
    try:
        worse = json.dumps({"max_inventory_lots": 1})
        assert await _mm(running, "start", "--id", "worse", "--candidate", worse,
                         "--window", "30", *common) == 0  # fmt: skip
        await eventually(lambda: _phase(running, "worse", ROLLED_BACK), timeout=60,
                         interval=0.2, message="the worse green rolled back")  # fmt: skip
        (start, rollback) = await _events(running, "worse")
        assert (start.action, rollback.action) == ("start", "rollback")
        assert "presence" in rollback.reason
        assert rollback.kpis["gate.presence"].startswith("FAIL")
        await eventually(lambda: _all_blue(running, 0.1), timeout=10, message="back on blue")

        better = json.dumps({"min_spread_bps": 0.2})
        started = await eventually(
            lambda: _started(running, "better", better, common), timeout=10,
            message="the cooldown ended",
        )  # fmt: skip
        assert started
        running.stack.kill(CONTROLLER, signal.SIGSTOP)  # hung: alive to its supervisor, no looks
        before = await _raw_state(running)
        (green,) = decode(before, RolloutState).green_symbols
        for service in ("quoter", "risk", "ledger"):
            await _kill_and_wait(running, service)
            assert await _raw_state(running) == before, f"{service}'s restart moved the state"
        colors = await eventually(lambda: _colors(running), timeout=30, message="quoter back")
        assert colors is not None
        # No judge, no canary: the restarted quoter reads the same state but no look comes.
        await eventually(lambda: _unjudged(running), timeout=30, message="green held on blue")
        assert await _raw_state(running) == before

        await _kill_and_wait(running, CONTROLLER)  # SIGKILL works on a stopped process too
        await eventually(lambda: _on_green(running, green), timeout=30, message="green again")
        await eventually(lambda: _phase(running, "better", PROMOTED), timeout=90,
                         interval=0.2, message="the better green promoted")  # fmt: skip
        events = await _events(running, "better")
        assert [(e.seq, e.action, e.split_pct) for e in events] == [
            (1, "start", 50), (2, "advance", 100), (3, "promote", 0),
        ]  # fmt: skip
        assert all(e.kpis["green.fills"] != "0" for e in events[1:])
        reply = await _ask(running, "quoter", "config-get", ConfigGetRequest(key="quoter.default"))
        assert json.loads(reply.data["quoter.default"])["min_spread_bps"] == 0.2
        await eventually(lambda: _all_blue(running, 0.2), timeout=10, message="green is blue")
    finally:
        await stop_stack(running)


async def _started(running: RunningStack, rollout_id: str, candidate: str, common: Any) -> bool:
    with contextlib.redirect_stderr(io.StringIO()):  # refusals while cooling down
        code = await _mm(running, "start", "--id", rollout_id, "--candidate", candidate,
                         "--window", "8", *common)  # fmt: skip
    return code == 0


async def _all_blue(running: RunningStack, spread: float) -> bool:
    colors = await _colors(running)
    return colors is not None and all(value == ("blue", spread) for value in colors.values())


async def _unjudged(running: RunningStack) -> bool:
    try:
        status = (await _ask(running, "quoter", "status", StatusRequest())).data
    except Exception:
        return False
    colors = await _colors(running)
    if colors is None:
        return False
    suspended = status.get("rollout.suspended", "")
    blue = {color for color, _ in colors.values()} == {"blue"}
    return blue and "no rollout controller has looked" in suspended


async def _on_green(running: RunningStack, symbol: str) -> bool:
    colors = await _colors(running)
    return colors is not None and colors[symbol] == ("green", 0.2)

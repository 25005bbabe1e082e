"""The canary rollout on the simulator, with the controller (`mm rollout run`) the stack's own
supervised child, judged on a market with informed flow.

They must be whole-stack tests: what is judged is the ledger's KPI stream of real fills on the
simulator's market, the controller's verdicts on it, and that the state in KV and the verdicts
survive SIGKILLs of the quoter, risk, the ledger and the controller itself.

ETHUSDT's market has informed flow (`INFORMED_FLOW`): now and then a trader who knows where the
price goes sweeps several levels of the book, and the price then moves that way for good. A
worse green quotes too tight into it (half blue's spread floor and no volatility term: at the
touch, where the sweeps take it just before the move) and is rolled back by the gate's 10 s
markout check (or net per notional, whichever fails; the event names it with its figure). That
is the short form, in make test.

The long form (MM_CHAOS_LONG=1) goes on: a better green, rolled out on BTCUSDT, whose flow is
benign, is promoted through every step of its ramp. Mid-rollout the controller is frozen
(SIGSTOP) and the quoter, risk and the ledger are SIGKILLed together: the stored state does not
move while they are down, the restarted quoter holds the green symbol on blue while no
controller looks (no judge, no canary), and once the controller is SIGKILLed and restarted by
the supervisor the symbol is green again and the rollout carries on to the same verdicts with no
repeated event. Why the better green is not rolled out on ETHUSDT too: no parameter set tried
there (volatility terms 1.5x and 3x blue's) passed a 10 s markout bound the worse one fails. At
the simulator's default order-rate tier the quotes lag the informed move by the rate budget's
queue (docs/benchmarks.md), so even wide quotes are run over; wider is only filled less often.
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
from mm_sim.settings import default_instruments
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = pytest.mark.system
# The informed trader on ETHUSDT: one step in 20 (every 2 s on average) it sweeps about 3 000
# lots (six levels of the model's book) the way the price is about to go, and the price then
# moves 90 ticks (3 bps) that way over the next half second and keeps it. BTCUSDT keeps the
# default, benign flow. docs/policy.md ("run 4") has the reasoning behind such a flow.
INFORMED_SYMBOL = "ETHUSDT"
BENIGN_SYMBOL = "BTCUSDT"
INFORMED_FLOW = {
    "informed_trade_probability": 0.05,
    "informed_trade_size_lots": 3000,
    "informed_impact_ticks": 90.0,
    "informed_impact_steps": 5,
}
LOOK_INTERVAL_S = 2.0  # the controller's; the quoters go back to blue after 3 missed looks


def _instruments() -> str:
    """`MM_SIM_INSTRUMENTS`: the default instruments with the informed flow on ETHUSDT's."""
    configs = [
        config.model_copy(update={"market": INFORMED_FLOW})
        if (config.category, config.symbol) == ("linear", INFORMED_SYMBOL)
        else config
        for config in default_instruments()
    ]
    return json.dumps([config.model_dump(mode="json") for config in configs])


ENV = {
    **TRADING_ENV,
    "sim": {**TRADING_ENV["sim"], "MM_SIM_INSTRUMENTS": _instruments()},
    # Room for the inventory a green taken by the informed flow piles up: at the default 10
    # lots it is pinned within seconds and quotes one side, and the gate's presence check
    # rolls it back before its fills' 10 s markouts are in.
    "quoter": {**TRADING_ENV["quoter"], "QUOTER_PARAMS__MAX_INVENTORY_LOTS": "50"},
    "ledger": {
        "LEDGER_SNAPSHOT_INTERVAL_S": "1",
        "LEDGER_EXEC_ACK_WAIT_S": "6",
        "LEDGER_REORDER_HOLD_MS": "500",
    },
}
# What the rollouts are judged on. The 10 s markout decides: the worse green is taken by the
# sweeps just before each move (its worst side's 10 s markout measured -9.0 and -13.9 bps with
# this flow, -2.5 and -3.8 with a milder one), BTCUSDT's benign flow within 0.7 bps of zero.
# A FAIL of any check rolls back, required or not; what a few seconds of fills make noisy
# (toxic share) only catches the absurd.
# Tick-to-order is loose: on the simulator's default order-rate tier it is a few hundred ms
# (docs/benchmarks.md), which is not what a rollout judges.
GATE = """[gate]
presence_min = 0.3
net_per_notional_bps_min = -5.0
markout_10s_bps_min = -1.5
toxic_share_max = 1.0
rejects_per_1000_orders_max = 100.0
min_fills = 1
tick_to_order_p99_ms_max = 5000.0
required = ["taker_share", "rejects_per_1000", "presence"]
"""
WORSE = {"min_spread_bps": 0.05, "k_vola_spread": 0.0}  # blue's halves: as far as a step may go
BETTER = {"k_vola_spread": 0.15}
SYMBOLS = ("BTCUSDT", "ETHUSDT")
COOLDOWN_S = 25


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
    """Each symbol's color and k_vola_spread in the quoter, or None while it does not answer."""
    try:
        status = (await _ask(running, "quoter", "status", StatusRequest())).data
    except Exception:
        return None
    if not all(f"{symbol}.params" in status for symbol in SYMBOLS):
        return None  # a restarted quoter lists a symbol once it has its parameters
    params = {symbol: json.loads(status[f"{symbol}.params"]) for symbol in SYMBOLS}
    return {s: (p["color"], p["k_vola_spread"]) for s, p in params.items()}


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


async def _kill_together(running: RunningStack, services: tuple[str, ...]) -> None:
    killed = {service: running.stack.kill(service) for service in services}

    def restarted() -> bool:
        pids = running.stack.pids()
        return all(pids.get(s) not in (None, killed[s]) for s in services)

    await eventually(restarted, timeout=30, message=f"{services} restarted")


def _judged_by_the_gate(event: RolloutEvent) -> list[str]:
    """The gate's economics checks that failed, as the event reports them."""
    checks = ("gate.markout_10s", "gate.net_per_notional")
    return [name for name in checks if event.kpis.get(name, "").startswith("FAIL")]


async def _the_worse_green_rolls_back(running: RunningStack, gate: Path, cooldown_s: int) -> None:
    """Start the worse green (on the informed symbol); it is rolled back by the gate's economics."""
    worse = ("--id", "worse", "--candidate", json.dumps(WORSE), "--cooldown", str(cooldown_s))
    assert await _mm(running, "start", *worse, "--window", "40", *_common(gate)) == 0
    assert (await _state(running)).green_symbols == [INFORMED_SYMBOL]
    await eventually(lambda: _phase(running, "worse", ROLLED_BACK), timeout=60,
                     interval=0.2, message="the worse green rolled back")  # fmt: skip
    (start, rollback) = await _events(running, "worse")
    assert (start.action, rollback.action) == ("start", "rollback")
    assert rollback.reason.startswith("green failed the gate: "), rollback.reason
    failed = _judged_by_the_gate(rollback)
    assert failed, rollback.kpis
    assert all(name.removeprefix("gate.") in rollback.reason for name in failed)
    assert int(rollback.kpis["green.fills"]) > 0
    await eventually(lambda: _all_blue(running, 0.1), timeout=10, message="back on blue")


def _common(gate: Path) -> tuple[str, ...]:
    return ("--ramp", "50,100", "--tolerance", "5", "--gate", str(gate))


async def _stack(tmp_path: Path) -> tuple[RunningStack, Path]:
    gate = tmp_path / "gate.toml"
    gate.write_text(GATE)
    running = await start_stack(tmp_path / "run", env=ENV, rollout_look_interval_s=LOOK_INTERVAL_S)
    return running, gate


@pytest.mark.timeout(150)
async def test_a_green_quoting_too_tight_into_informed_flow_is_rolled_back_by_the_gate(
    tmp_path: Path,
) -> None:
    running, gate = await _stack(tmp_path)
    try:
        await _the_worse_green_rolls_back(running, gate, cooldown_s=1)
    except AssertionError as error:
        await _explain(running, error)
        raise
    finally:
        await stop_stack(running)


# The long form: two rollouts, four SIGKILLs and the waits they imply (the unjudged bound, the
# restarts, a step window started again) take 2-3 minutes on a loaded machine, too long for
# make test's alone pass; the short form above shows the worse green's rollback there, and
# cli/tests/test_rollout_bus.py and cli/tests/test_rollout_unjudged.py the state machine,
# promotion through config-set and the unjudged fallback.
@pytest.mark.skipif(
    os.environ.get("MM_CHAOS_LONG", "") != "1",
    reason="long form (2-3 minutes): set MM_CHAOS_LONG=1",
)
@pytest.mark.timeout(300)
async def test_after_a_rollback_a_better_green_is_promoted_through_every_step_across_kills(
    tmp_path: Path,
) -> None:
    running, gate = await _stack(tmp_path)
    try:
        # The cooldown outlasts the worse green's last fills' markouts (its orders are replaced
        # by blue ones a little after the rollback, and each fill's markout comes 10 s later).
        await _the_worse_green_rolls_back(running, gate, cooldown_s=COOLDOWN_S)
        better = (*_common(gate), "--cooldown", "1", "--symbols", BENIGN_SYMBOL)
        started = await eventually(
            lambda: _started(running, "better", json.dumps(BETTER), better),
            timeout=COOLDOWN_S + 15, message="the cooldown ended",
        )  # fmt: skip
        assert started
        running.stack.kill(CONTROLLER, signal.SIGSTOP)  # hung: alive to its supervisor, no looks
        before = await _raw_state(running)
        (green,) = decode(before, RolloutState).green_symbols
        assert green == BENIGN_SYMBOL
        await _kill_together(running, ("quoter", "risk", "ledger"))
        assert await _raw_state(running) == before, "the services' restarts moved the state"
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
        for event in events[1:]:
            assert event.reason.startswith("green passed the gate"), event.reason
            assert event.kpis["gate.presence"].startswith("PASS"), event.kpis
            assert event.kpis["green.fills"] != "0", event.kpis
        reply = await _ask(running, "quoter", "config-get", ConfigGetRequest(key="quoter.default"))
        stored = json.loads(reply.data["quoter.default"])
        assert stored["k_vola_spread"] == BETTER["k_vola_spread"]
        await eventually(lambda: _all_blue(running, BETTER["k_vola_spread"]), timeout=10,
                         message="green is blue")  # fmt: skip
    except AssertionError as error:
        await _explain(running, error)
        raise
    finally:
        await stop_stack(running)


async def _explain(running: RunningStack, error: AssertionError) -> None:
    """Add the stored state and every rollout event to a failure: what the verdicts were on."""
    try:
        state = await _state(running)
        events = [e for r in ("worse", "better") for e in await _events(running, r)]
    except Exception as unreadable:  # the failure itself matters more than its explanation
        error.add_note(f"no state or events to show: {unreadable!r}")
        return
    error.add_note(f"state: {state.rollout_id} {state.phase}: {state.reason} {state.kpis}")
    for event in events:
        error.add_note(f"event {event.rollout_id}.{event.seq} {event.action}: {event.reason} "
                       f"{event.kpis}")  # fmt: skip


async def _started(running: RunningStack, rollout_id: str, candidate: str, common: Any) -> bool:
    with contextlib.redirect_stderr(io.StringIO()):  # refusals while cooling down
        code = await _mm(running, "start", "--id", rollout_id, "--candidate", candidate,
                         "--window", "10", *common)  # fmt: skip
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
    return colors is not None and colors[symbol] == ("green", BETTER["k_vola_spread"])

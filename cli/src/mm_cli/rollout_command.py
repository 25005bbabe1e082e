"""`mm rollout start|status|promote|abort|run`: the canary rollout from the command line.

`start` checks every invariant (`rollout_rules`) against blue's values in force, read from the
quoter's `config-get`, and stores the first state only when all hold; a refusal prints each
reason, exits 1 and leaves the stored state and the live config as they were. `run` is the
controller: a loop of `rollout_control.look` that holds no state of its own, so it may be
stopped, killed and started again anywhere (see docs/going-live.md); `mm run` keeps one running
as a child of its supervisor. Exit codes: 0 done, 1
refused, 2 no bus or no quoter.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats

from mm_cli.bus_connect import BusUnreachableError, connect
from mm_cli.gate_thresholds import GateConfigError
from mm_cli.report_command import ReportError, read_snapshots
from mm_cli.report_window import Window
from mm_cli.rollout_control import (
    RolloutError,
    RolloutStore,
    StateConflictError,
    announce_last,
    look,
    operator_end,
)
from mm_cli.rollout_plan import event_of, gate_table
from mm_cli.rollout_rules import RolloutRefusedError, StartRequest, start_state
from mm_proto import ConfigGetRequest, KpiSnapshot
from mm_proto.rollout import LOOK_INTERVAL_S, RolloutState, unjudged_after_ns
from mm_proto.subjects import CtlVerb
from quoter.params import QuoterParams

_NS = 1_000_000_000


def add_parser(commands: Any, bus_options: Any) -> None:
    """The `rollout` subcommand and its actions."""
    rollout = commands.add_parser(
        "rollout", help="canary rollout of a candidate parameter set (green) beside blue"
    )
    actions = rollout.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="check the invariants and start a rollout")
    start.add_argument("--candidate", required=True, help="JSON object of quoter fields, or @FILE")
    start.add_argument("--ramp", default="10,25,50,100", help="rising %% steps ending at 100")
    start.add_argument("--split", type=int, default=None, help="starting %% (default: 1st step)")
    start.add_argument("--symbols", default=None, help="comma list (default: the quoter's)")
    start.add_argument("--window", type=int, default=3600, help="seconds per step (gate window)")
    start.add_argument("--cooldown", type=int, default=3600, help="seconds after a rollback")
    start.add_argument("--tolerance", default="0.5", help="bps green may trail blue by")
    start.add_argument("--gate", type=Path, default=None, help="TOML file with a [gate] table")
    start.add_argument("--id", dest="rollout_id", default=None, help="rollout id (default r<UTC>)")
    run = actions.add_parser("run", help="the controller: evaluate and advance, until stopped")
    run.add_argument(
        "--interval", type=float, default=LOOK_INTERVAL_S,
        help="seconds between looks; the quoters' rollout_look_interval_s must match",
    )  # fmt: skip
    for name, what in (
        ("status", "the rollout's state"),
        ("promote", "make green the new blue now"),
        ("abort", "send every symbol back to blue now"),
    ):
        actions.add_parser(name, help=what)
    for parser in actions.choices.values():
        bus_options(parser)


async def main(arguments: Any, options: dict[str, Any]) -> int:
    # The controller outlives a NATS restart; a one-shot command fails fast instead.
    running = arguments.action == "run"
    if running:
        try:
            unjudged_after_ns(arguments.interval)
        except ValueError as error:
            print(f"mm rollout run: refused:\n  - --interval: {error}", file=sys.stderr)
            return 1
    client = await connect(arguments.nats, "mm-rollout", options, keep_reconnecting=running)
    store = RolloutStore(client)
    try:
        if arguments.action == "start":
            return await start(store, arguments)
        if arguments.action == "status":
            return await status(store)
        if arguments.action in ("promote", "abort"):
            transition = await operator_end(store, arguments.action, "the operator")
            print(f"{transition.event.action}: {transition.event.reason}")
            return 0
        return await run(store, arguments.nats, options, arguments.interval)
    except (RolloutError, RolloutRefusedError, GateConfigError) as error:
        reasons = getattr(error, "reasons", [str(error)])
        print(f"mm rollout {arguments.action}: refused:", file=sys.stderr)
        for reason in reasons:
            print(f"  - {reason}", file=sys.stderr)
        return 1
    finally:
        await client.close()


def _raise_if_cancelled() -> None:
    """A cancel that landed inside nats-py can come out as one of its errors, which the loop
    survives by design: the task's pending cancel request still says it was asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def start(store: RolloutStore, arguments: Any) -> int:
    request = _request(arguments)
    reply = await store.ask_quoter(CtlVerb.CONFIG_GET, ConfigGetRequest(key="quoter"))
    if not reply.ok:
        raise RolloutError(f"the quoter's config: {reply.message}")
    blues = {
        name.removeprefix("effective."): QuoterParams.model_validate_json(value)
        for name, value in reply.data.items()
        if name.startswith("effective.")
    }
    entries = {
        name.removeprefix("quoter."): json.loads(value)
        for name, value in reply.data.items()
        if name.startswith("quoter.") and name != "quoter.default"
    }
    if not request.symbols:
        request = _with_symbols(request, sorted(s for s in blues if s != "default"))
    previous, revision = await store.read()
    state = start_state(request, blues, entries, previous, time.time_ns())
    await store.commit(state, revision)
    print(f"started {state.rollout_id}: {state.split_pct} % green on {state.green_symbols}")
    return 0


def _request(arguments: Any) -> StartRequest:
    text = arguments.candidate
    reasons = []
    try:
        if text.startswith("@"):
            text = Path(text[1:]).read_text()
        candidate = json.loads(text)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RolloutRefusedError(
            [f"--candidate must be a JSON object or @FILE: {error}"]
        ) from None
    if not isinstance(candidate, dict):
        reasons.append(f"--candidate must be a JSON object, was {type(candidate).__name__}")
    try:
        ramp = [int(step) for step in arguments.ramp.split(",") if step.strip()]
    except ValueError:
        reasons.append(
            f"--ramp must be whole percentages like 10,25,50,100, was {arguments.ramp!r}"
        )
        ramp = []
    if reasons:
        raise RolloutRefusedError(reasons)
    gate_text = arguments.gate.read_text() if arguments.gate is not None else None
    symbols = [s.strip() for s in (arguments.symbols or "").split(",") if s.strip()]
    stamp = datetime.now(UTC).strftime("r%Y%m%d%H%M%S")
    return StartRequest(
        rollout_id=arguments.rollout_id or stamp,
        candidate=candidate,
        symbols=symbols,
        ramp_pct=ramp,
        split_pct=arguments.split,
        step_window_s=arguments.window,
        cooldown_s=arguments.cooldown,
        tolerance_bps=arguments.tolerance,
        gate=gate_table(gate_text),
    )


def _with_symbols(request: StartRequest, symbols: list[str]) -> StartRequest:
    fields = {name: getattr(request, name) for name in request.__dataclass_fields__}
    return StartRequest(**{**fields, "symbols": symbols})


async def status(store: RolloutStore) -> int:
    state, _ = await store.read()
    if state is None:
        print("no rollout has started on this bus")
        return 0
    print(describe(state))
    return 0


def describe(state: RolloutState) -> str:
    event = event_of(state, "", "")
    step = f"step {state.step_index + 1}/{len(state.ramp_pct)} ({state.split_pct} %)"
    age = (time.time_ns() - state.ts_step_started_ns) / _NS
    looked = (
        f"the controller last looked {(time.time_ns() - state.ts_evaluated_ns) / _NS:.0f} s ago"
        if state.ts_evaluated_ns
        else "no controller has looked yet"
    )
    lines = [
        f"rollout {state.rollout_id}: {state.phase}, {step}, step running {age:.0f} s "
        f"of {state.step_window_s} s; {looked}",
        f"green ({state.color}): {state.green_symbols or 'no symbol'} of {state.symbols}",
        f"candidate: {state.candidate}",
        f"last: {event.action} #{event.seq}: {event.reason}",
    ]
    lines += [f"  {name}: {value}" for name, value in sorted(state.kpis.items())]
    return "\n".join(lines)


async def run(store: RolloutStore, nats_url: str, options: dict[str, Any], interval: float) -> int:
    """The controller loop; ends only when interrupted."""

    async def read_kpis(since_ns: int) -> list[KpiSnapshot]:
        try:
            return await read_snapshots(nats_url, options, Window(since_ns, time.time_ns()))
        except ReportError:
            return []

    bound = unjudged_after_ns(interval)
    await announce_last(store)
    print(f"mm rollout run: controller started, looking every {interval:g} s", flush=True)
    while True:
        try:
            said = await look(store, read_kpis, bound_ns=bound)
        except StateConflictError:
            continue
        except (RolloutError, BusUnreachableError, nats.errors.Error, OSError) as error:
            # Nothing is lost by waiting: the state and the KPIs are on the bus; say why.
            said = f"cannot act: {error or type(error).__name__}"
        _raise_if_cancelled()
        print(f"{datetime.now(UTC):%H:%M:%S} {said}", flush=True)
        await asyncio.sleep(interval)

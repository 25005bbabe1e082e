"""The pre-live pack's stack step: the whole stack on the simulator with a parameter set.

    python -m mm_soak.rehearsal --params P.json --out DIR [--trade-s 20] [--drills a,b]

`mm prelive` runs this as a child process (`mm_cli.prelive_steps`; mm_soak depends on mm_cli,
so the pack cannot import it) and reads `DIR/rehearsal.json` afterwards. The stack runs the
parameter file's symbols on the simulator with its venue fees and quoter parameters (at start,
through the quoter's settings), then its `quoter_symbols` and `risk` entries through
`config-set` (refused exactly as on a live system), with a canary API secret. It trades for
`--trade-s` seconds, runs the named drills (`mm_soak.DRILLS`, judged by `run_drill`) and
audits the venue against the bus. After the stack stops it searches every file under the run
directory but the secrets, and each `/metrics` page taken while it ran, for the canary.
Figures the gate judges are of the trading before the first drill (`trading_window_ns`).

It measures nothing the gate judges itself: `mm prelive` reads the stopped stack's store
(`DIR/run/nats`) as `mm gate --since` reads a live one (`mm_cli.gate_command.read_gate_window`):
the ledger's KPI snapshots, risk's halts, and the executor's and quoter's stored gate facts
(tick→order p99, obligation coverage, reconciliation). So that a short run has them, the
ledger flushes every `SNAPSHOT_INTERVAL_S`, the executor and quoter store their facts as often,
and the executor reconciles every `RECONCILIATION_INTERVAL_S` (any stretch that long holds
one). Progress goes to stdout, one line per step. Exit 0 when the run finished (whatever it
found), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import nats.errors
from nats.aio.client import Client

from mm_cli.local_stack import DEMO_SETTINGS
from mm_proto import ConfigSetRequest, CtlReply, codec, subjects
from mm_proto.services import REGISTRY
from mm_soak.drills import DRILLS, run_drill
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.secret_canary import canary_hits
from quoter.params import QuoterParams

SNAPSHOT_INTERVAL_S = 2.0  # the ledger's KPI snapshots, and the executor's and quoter's facts
RECONCILIATION_INTERVAL_S = 10.0  # the executor's least (`ExecutorSettings`)
HOLD_S = 2.0  # the ledger's reorder hold (LEDGER_REORDER_HOLD_MS): figures trail by it
ACTIVITY_TIMEOUT_S = 45.0
REQUEST_TIMEOUT_S = 5.0


class RehearsalError(Exception):
    """A parameter file the stack cannot run, with the reason."""


def say(text: str) -> None:
    print(f"stack: {text}", flush=True)


def symbols_of(document: dict[str, Any]) -> tuple[str, ...]:
    instruments = document.get("instruments")
    if not isinstance(instruments, list) or not instruments:
        raise RehearsalError("the parameter file names no instruments")
    return tuple(str(item["symbol"]) for item in instruments)


def stack_env(document: dict[str, Any], run_dir: Path) -> dict[str, dict[str, str]]:
    """Each child's environment: venue fees, quoter parameters, the gate's facts stored often
    enough for a short run, and the executor (the one service that holds the secret) logging
    at DEBUG and writing its spans to a file, where a leak would show. Only the executor: DEBUG
    everywhere would slow the run being measured."""
    venue = document.get("venue", {})
    maker = str(venue.get("maker_fee_rate", "0.0002"))
    env: dict[str, dict[str, str]] = {
        "sim": {
            "MM_SIM_MAKER_FEE_RATE": maker,
            "MM_SIM_TAKER_FEE_RATE": str(venue.get("taker_fee_rate", "0.00055")),
        },
        "quoter": {
            "QUOTER_MAKER_FEE_RATE": maker,
            **quoter_params_env(document.get("quoter", {})),
            "QUOTER_GATE_FACTS_INTERVAL_S": str(SNAPSHOT_INTERVAL_S),
        },
        "ledger": {"LEDGER_SNAPSHOT_INTERVAL_S": str(SNAPSHOT_INTERVAL_S)},
    }
    env["executor"] = {
        "EXECUTOR_LOG__LEVEL": "DEBUG",
        "EXECUTOR_TELEMETRY__EXPORTER": "file",
        "EXECUTOR_TELEMETRY__FILE_PATH": str(run_dir / "traces" / "executor.jsonl"),
        "EXECUTOR_GATE_FACTS_INTERVAL_S": str(SNAPSHOT_INTERVAL_S),
        "EXECUTOR_RECONCILIATION_INTERVAL_S": str(RECONCILIATION_INTERVAL_S),
    }
    return env


def quoter_params_env(quoter: dict[str, Any]) -> dict[str, str]:
    """The file's quoter parameters, with `mm run`'s demo settings undone: a nested variable
    (`QUOTER_PARAMS__X`) outranks `QUOTER_PARAMS`, so each one the demo sets gets the file's
    value here, or the field's default when the file has none (the rehearsal runs the file)."""
    env = {"QUOTER_PARAMS": json.dumps(quoter)}
    fields = QuoterParams.model_fields
    for name in DEMO_SETTINGS["quoter"]:
        field = name.removeprefix("QUOTER_PARAMS__").lower()
        if name.startswith("QUOTER_PARAMS__") and field in fields:
            value = quoter.get(field, fields[field].default)
            env[name] = value if isinstance(value, str) else json.dumps(value)
    return env


def config_entries(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The live-config entries the file sets: `quoter.<SYMBOL>`, `risk.<scope>`."""
    entries = [(f"quoter.{s}", v) for s, v in document.get("quoter_symbols", {}).items()]
    entries += [(f"risk.{scope}", v) for scope, v in document.get("risk", {}).items()]
    return entries


async def config_set(client: Client, key: str, value: dict[str, Any]) -> str:
    """`config-set` through the owning service; "" when stored, else its refusal."""
    service = key.split(".", 1)[0]
    request = ConfigSetRequest(key=key, value=json.dumps(value))
    try:
        message = await client.request(
            subjects.ctl(service, "config-set"), codec.encode(request), timeout=REQUEST_TIMEOUT_S
        )
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        return f"{service} did not answer config-set"
    reply = codec.decode(message.data, CtlReply)
    return "" if reply.ok else reply.message


async def wait_activity(running: RunningStack) -> bool:
    deadline = time.monotonic() + ACTIVITY_TIMEOUT_S
    while not running.watch.activity_at:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


async def metric_pages(running: RunningStack) -> dict[str, str]:
    pages: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for service in REGISTRY.names:
            async with session.get(f"{running.stack.http_url(service)}/metrics") as reply:
                pages[service] = await reply.text()
    return pages


async def exercise(
    running: RunningStack, document: dict[str, Any], trade_s: float, drills: list[str]
) -> dict[str, Any]:
    """Configure, trade, drill and audit a started stack; its findings. The figures the gate
    judges are of the clean trading before the first drill (`trading_window_ns`, read from the
    store afterwards): a drill breaks things on purpose and is judged by its own bounds."""
    found: dict[str, Any] = {"config_refusals": {}, "drills": []}
    for key, value in config_entries(document):
        refusal = await config_set(running.client, key, value)
        if refusal:
            found["config_refusals"][key] = refusal
    found["quoting"] = await wait_activity(running)
    say(f"quoting: {found['quoting']}; trading {trade_s:g} s")
    started_ns = time.time_ns()
    await asyncio.sleep(trade_s)
    found["trading_window_ns"] = [started_ns, time.time_ns()]
    await asyncio.sleep(SNAPSHOT_INTERVAL_S + HOLD_S)  # the window's figures are stored
    for name in drills:
        say(f"drill {name}")
        result = await run_drill(
            DRILLS[name], running.stack, running.watch, running.audit, running.probe
        )
        found["drills"].append(result.as_dict())
    say("venue audit")
    audit = await running.audit.audit(settle_s=15.0)
    found["audit"] = {"ok": audit.ok, "findings": audit.describe(), "fills": audit.venue_fills}
    return found


async def rehearse(
    document: dict[str, Any], run_dir: Path, trade_s: float, drills: list[str]
) -> dict[str, Any]:
    """Run the stack in `run_dir` (created, with `traces/`) and return what it found."""
    symbols = symbols_of(document)
    canary = "canary" + secrets.token_hex(20)
    say(f"starting the stack for {', '.join(symbols)}")
    running = await start_stack(
        run_dir,
        api_secret=canary,
        env=stack_env(document, run_dir),
        symbols=symbols,
        quoter_fault_hook="quoter-raises" in drills,
    )
    try:
        found = await exercise(running, document, trade_s, drills)
        pages = await metric_pages(running)
    finally:
        say("stopping the stack")
        await stop_stack(running)
    in_use = running.stack.credentials()[1] == canary
    kept = running.stack.layout.secrets_dir
    everywhere = canary_hits(run_dir, canary.encode())  # the control: must find the kept file
    found["canary"] = {
        "in_use": in_use,
        "files": canary_hits(run_dir, canary.encode(), skip=kept),
        "metrics": [service for service, text in pages.items() if canary in text],
        "control_found": any(Path(hit).parent == Path(kept.name) for hit in everywhere),
    }
    found["symbols"] = list(symbols)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm_soak.rehearsal", description=__doc__)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--trade-s", type=float, default=20.0)
    parser.add_argument(
        "--drills", default="kill-executor", help="comma-separated, 'all', or '' for none"
    )
    arguments = parser.parse_args(argv)
    drills = [name for name in arguments.drills.split(",") if name]
    if drills == ["all"]:
        drills = list(DRILLS)
    unknown = [name for name in drills if name not in DRILLS]
    if unknown:
        print(f"mm_soak.rehearsal: unknown drills {unknown}: known are {sorted(DRILLS)}")
        return 1
    run_dir = arguments.out / "run"
    try:
        document = json.loads(arguments.params.read_text())
        (run_dir / "traces").mkdir(parents=True, exist_ok=True)
        found = asyncio.run(rehearse(document, run_dir, arguments.trade_s, drills))
    except (RehearsalError, OSError, ValueError, KeyError, TypeError) as error:
        print(f"mm_soak.rehearsal: {error!r}", file=sys.stderr)
        return 1
    (arguments.out / "rehearsal.json").write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`mm policy status` and `mm policy explain SYMBOL`: the slow loop's state and decisions in words.

`status` asks `ctl.policy.status` (modes, holds, pins, values in force, the newest decision per
symbol). `explain` reads the symbol's last decisions from stream POLICY, so it works while the
policy is down too, and adds the live state when the policy answers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from mm_cli import operator
from mm_cli.bus_connect import connect
from mm_proto import DecodeError, PolicyDecision, StatusRequest, decode, subjects
from mm_proto.policy import in_words
from mm_proto.subjects import CtlVerb

SCAN_LIMIT = 5_000  # newest stream messages read by `explain`


def add_arguments(
    parser: argparse.ArgumentParser, bus_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="modes, holds, pins and values per symbol")
    explain = actions.add_parser("explain", help="a symbol's last decisions, in words")
    explain.add_argument("symbol")
    explain.add_argument("--last", type=int, default=10, help="how many decisions (default 10)")
    bus_options(status)
    bus_options(explain)


async def run(arguments: argparse.Namespace) -> int:
    if arguments.action == "status":
        return await _status(arguments.nats, arguments.bus_dir)
    try:
        subjects.token(arguments.symbol)
    except ValueError as error:
        print(f"mm policy explain: symbol {error}", file=sys.stderr)
        return 2
    return await _explain(arguments.nats, arguments.bus_dir, arguments.symbol, arguments.last)


async def _status(nats_url: str, bus_dir: Path, symbol: str = "") -> int:
    try:
        reply = await operator.ask(nats_url, bus_dir, "policy", CtlVerb.STATUS, StatusRequest())
    except operator.ServiceDown as error:
        print(f"policy: DOWN ({error}); the config it last wrote stays in force")
        return 1
    data = reply.data
    symbols = sorted({key.split(".", 1)[0] for key in data if key.endswith(".mode")})
    for name in [symbol] if symbol else symbols:
        print(
            f"{name}: mode {data.get(f'{name}.mode', '?')}, "
            f"{data.get(f'{name}.decisions', '0')} decisions"
        )
        held = data.get(f"{name}.held", "")
        print(f"  {'held: ' + held if held else 'deciding'}")
        values = sorted(
            (k.rsplit(".", 1)[1], v) for k, v in data.items() if k.startswith(f"{name}.value.")
        )
        if values:
            print("  in force: " + ", ".join(f"{k}={v}" for k, v in values))
        for label in ("pinned", "skipped", "weight", "pending", "last"):
            text = data.get(f"{name}.{label}", "")
            if text:
                print(f"  {label}: {text}")
    return 0 if reply.ok else 1


async def _explain(nats_url: str, bus_dir: Path, symbol: str, last: int) -> int:
    client = await connect(nats_url, "mm-policy", operator.connection_options(bus_dir))
    try:
        decisions = await _decisions(client, symbol)
    finally:
        await client.close()
    shown = decisions[-last:] if last > 0 else decisions
    if not shown:
        print(f"{symbol}: no policy decision on stream {subjects.POLICY_STREAM}")
    for decision in shown:
        print(in_words(decision))
        if decision.inputs:
            figures = ", ".join(f"{k}={v}" for k, v in sorted(decision.inputs.items()) if v)
            print(f"    inputs: {figures}")
    print()
    return await _status(nats_url, bus_dir, symbol)


async def _decisions(client: Client, symbol: str) -> list[PolicyDecision]:
    js = client.jetstream()
    try:
        info = await js.stream_info(subjects.POLICY_STREAM)
    except NotFoundError:
        return []
    last = info.state.last_seq
    found = []
    for sequence in range(max(info.state.first_seq, last - SCAN_LIMIT + 1, 1), last + 1):
        try:
            raw = await js.get_msg(subjects.POLICY_STREAM, sequence)
            decision = decode(raw.data or b"", PolicyDecision)
        except (NotFoundError, DecodeError):
            continue
        if decision.symbol == symbol:
            found.append(decision)
    return found

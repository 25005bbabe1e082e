"""`mm tail <subject>`: print every message on a subject (wildcards allowed) as one JSON line.

Each message is decoded with the type its concrete subject carries (the switchboard's `parse`),
so the output is the message as the services see it, plus the subject. A payload that does not
decode is printed as an error line with its size, never silently skipped. A subject the operator
may not read, or a bus that goes away, ends the command with a message and exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Any, TextIO

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from mm_cli.bus_connect import connect
from mm_proto import codec, subjects


def describe(msg: Msg) -> str:
    """One JSON line for one bus message."""
    try:
        parsed = subjects.parse(msg.subject)
        message = codec.decode(msg.data, parsed.message_type)
    except (ValueError, codec.DecodeError) as error:
        return json.dumps({"subject": msg.subject, "error": str(error), "bytes": len(msg.data)})
    body = msgspec.to_builtins(message)
    return json.dumps({"subject": msg.subject, "message": body}, separators=(",", ":"))


def check_pattern(pattern: str) -> str:
    """A NATS subject or pattern: dot-separated non-empty tokens, `>` only last."""
    tokens = pattern.split(".")
    if not pattern or any(not part or any(c.isspace() for c in part) for part in tokens):
        raise ValueError(f"subject must be dot-separated non-empty tokens, was {pattern!r}")
    if ">" in tokens[:-1]:
        raise ValueError(f"'>' may only be the last token, was {pattern!r}")
    return pattern


async def tail(
    nats_url: str,
    pattern: str,
    count: int | None,
    connect_options: dict[str, Any] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Print messages until Ctrl-C, or until `count` messages were printed. Returns 1 when the bus
    refuses the subscription (the operator may not read that subject) or closes the connection."""
    done = asyncio.Event()
    problems: list[str] = []
    printed = 0

    async def on_message(msg: Msg) -> None:
        nonlocal printed
        if count is not None and printed >= count:
            return  # delivered while draining: `--count` is exact
        print(describe(msg), file=out, flush=True)
        printed += 1
        if count is not None and printed >= count:
            done.set()

    async def on_error(error: Exception) -> None:
        problems.append(str(error))
        done.set()

    async def on_closed() -> None:
        done.set()

    options = (connect_options or {}) | {"closed_cb": on_closed}
    client = await connect(nats_url, "mm-tail", options, on_error=on_error)
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(RuntimeError, ValueError):
            loop.add_signal_handler(number, done.set)
    await client.subscribe(check_pattern(pattern), cb=on_message)
    await done.wait()
    return await _finish(client, problems)


async def _finish(client: Client, problems: list[str]) -> int:
    """0 after a clean stop; 1, saying why, when the bus refused or closed."""
    if client.is_closed or problems:
        reason = problems[0] if problems else "the bus closed the connection"
        print(f"mm tail: {reason}", file=sys.stderr)
        await client.close()
        return 1
    await client.drain()
    return 0

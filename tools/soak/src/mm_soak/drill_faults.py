"""The faults of the fail-closed drills: a frozen process, an unwritable store, a forged inbox
message, a quoter that raises on every tick, and a restart of the whole stack on its kept state.

Each is a pair of actions on a running `LocalStack` (inject, clear). They only break things the
way an operator or the machine could: signals, file-system flags, a bus user's own credentials,
the test-only quoter hook of `mm_soak.quoter_fault`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import nats
import nats.errors

from mm_runtime.bus import server_list
from mm_runtime.bus_auth import user_options
from mm_soak.stack import LocalStack

_log = logging.getLogger("mm_soak.faults")
Action = Callable[[LocalStack], Awaitable[None]]


def sigstop(name: str) -> tuple[Action, Action]:
    """Freeze one child's process group (SIGSTOP), and thaw it (SIGCONT)."""

    async def freeze(stack: LocalStack) -> None:
        stack.kill(name, signal.SIGSTOP)

    async def thaw(stack: LocalStack) -> None:
        stack.kill(name, signal.SIGCONT)

    return freeze, thaw


# ---- the NATS store, unwritable ------------------------------------------------------------
def _store(stack: LocalStack) -> Path:
    return stack.layout.run_dir / "nats"


def _set_writable(path: Path, writable: bool) -> None:
    """Root ignores permission bits, so as root the immutable flag does it (chattr)."""
    if os.geteuid() == 0 and shutil.which("chattr"):
        # Files come and go under a running server, so chattr may complain about one that went;
        # a second pass catches any created meanwhile (making the store writable must not miss).
        flag = "-i" if writable else "+i"
        chattr = shutil.which("chattr") or "chattr"
        command = [chattr, "-R", "-f", flag, str(path)]
        for _ in range(2 if writable else 1):
            subprocess.run(command, check=False, capture_output=True)  # noqa: S603 - our own args
        return
    for root, directories, files in os.walk(path):
        for entry in [root, *(os.path.join(root, name) for name in directories + files)]:
            with contextlib.suppress(FileNotFoundError):
                mode = os.stat(entry).st_mode
                os.chmod(entry, (mode | 0o200) if writable else (mode & ~0o222))


async def store_unwritable(stack: LocalStack) -> None:
    _set_writable(_store(stack), False)


async def store_writable(stack: LocalStack) -> None:
    """Writable again, and nats-server restarted: JetStream, once it turned itself off after a
    failed write, stays off until the server restarts (as an operator would after the fix)."""
    _set_writable(_store(stack), True)
    stack.kill("nats", signal.SIGKILL)


# ---- a forged message on another service's inbox -------------------------------------------
FORGED = b"\x00forged by the drill: not a JetStream reply"
_INBOX = re.compile(r"INBOX", re.IGNORECASE)


async def inbox_subjects(stack: LocalStack, victim: str) -> list[str]:
    """The reply subjects `victim` listens on, as the NATS monitor lists them (wildcards filled):
    every node's, since on a clustered bus `victim` is connected to one of them."""
    params = {"subs": "detail", "auth": "1", "limit": "1024"}
    connections: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        for node in stack.layout.nats_cluster:
            url = f"http://127.0.0.1:{node.monitor_port}/connz"
            async with session.get(url, params=params) as reply:
                connections += (await reply.json()).get("connections") or []
    found = []
    for connection in connections:
        if victim not in (connection.get("authorized_user"), connection.get("name")):
            continue
        for sub in connection.get("subscriptions_list_detail") or []:
            subject = str(sub.get("subject", ""))
            if _INBOX.search(subject):
                found.append(subject.replace("*", "forged").replace(">", "forged"))
    return found


def forge_inbox(victim: str, sender: str) -> Action:
    """`sender` (a bus user) publishes garbage to every inbox of `victim` it can find."""

    async def forge(stack: LocalStack) -> None:
        targets = await inbox_subjects(stack, victim)
        if not targets:  # a drill that injects nothing must not pass as one that held
            raise RuntimeError(f"expected the NATS monitor to list an inbox of {victim}, none")
        client = await nats.connect(
            server_list(stack.layout.nats_url),
            name=f"drill-as-{sender}",
            connect_timeout=2,
            allow_reconnect=False,
            **user_options(stack.layout.bus_dir, sender),
        )
        try:
            for subject in targets:
                await client.publish(subject, FORGED)
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                await client.flush(timeout=2)
        finally:
            with contextlib.suppress(Exception):
                await client.close()
        _log.info("forged inbox messages", extra={"victim": victim, "subjects": len(targets)})

    return forge


# ---- the quoter raising on every tick (test-only hook) -------------------------------------
def quoter_raises(on: bool) -> Action:
    async def toggle(stack: LocalStack) -> None:
        flag = stack.quoter_fault_file
        if flag is None:
            raise RuntimeError("expected a stack started with the quoter fault hook")
        if on:
            flag.write_text("raise")
        else:
            flag.unlink(missing_ok=True)

    return toggle


# ---- the whole stack restarted on its kept state ---------------------------------------------
async def restart_stack(stack: LocalStack) -> None:
    """Stop every child as `mm run` does on Ctrl-C, then start them again in the same run dir."""
    await stack.stop()
    await stack.start()

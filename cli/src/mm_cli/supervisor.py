"""Runs a set of child processes as one stack: start in order, restart with backoff, stop cleanly.

A child waits for the readiness of the one before it, unless its spec says `with_previous`: then
it is spawned right after that one and their readiness is awaited together (the services, which
wait for each other's facts on the bus themselves, start at once instead of one by one).

Each child gets its own process group, so stopping it also stops anything it started, and nothing is
left behind on any exit path: Ctrl-C, SIGTERM, or an error in the supervisor itself. A child that
exits on its own is restarted after an exponential backoff (1 s doubling to 30 s), reset once it has
stayed up for a minute. Children write to their own log file under the run directory. A restart
that cannot spawn the child (its log file cannot be opened, the binary is gone) is logged with the
reason, kept in `Child.spawn_error`, and retried on the same backoff until it works or the stack
stops: the supervisor never gives up on a child.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

_log = logging.getLogger("mm_cli.supervisor")

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ChildState(Enum):
    STARTING = "starting"
    RUNNING = "running"
    BACKING_OFF = "backing off"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass
class ChildSpec:
    """How to start one child: its command, environment and optional readiness probe."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = 0
    ready: Callable[[], Awaitable[bool]] | None = None
    with_previous: bool = False  # start without waiting for the previous child's readiness


@dataclass
class Child:
    """A child's spec and its live state, as the status view shows it."""

    spec: ChildSpec
    state: ChildState = ChildState.STOPPED
    pid: int = 0
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: float = 0.0
    process: asyncio.subprocess.Process | None = None
    spawn_error: str = ""  # why the last spawn failed; "" once one succeeded


class Supervisor:
    """Starts children in order and keeps them running until `stop()`."""

    def __init__(self, specs: list[ChildSpec], log_dir: Path) -> None:
        self.children = [Child(spec) for spec in specs]
        self._log_dir = log_dir
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, ready_timeout_s: float = 30.0) -> None:
        """Start the children in order, each group (a child and the `with_previous` ones after
        it) spawned together and ready before the next group starts."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for group in self._groups():
            for child in group:
                try:
                    await self._spawn(child)
                except OSError as error:
                    raise RuntimeError(f"{child.spec.name} could not be started: {error}") from None
            await self._wait_group_ready(group, ready_timeout_s)
            self._tasks += [asyncio.create_task(self._watch(child)) for child in group]

    def _groups(self) -> list[list[Child]]:
        groups: list[list[Child]] = []
        for child in self.children:
            if child.spec.with_previous and groups:
                groups[-1].append(child)
            else:
                groups.append([child])
        return groups

    async def _wait_group_ready(self, group: list[Child], timeout_s: float) -> None:
        """Every probe of the group passes. A child that exits fails the start at once; so does
        `timeout_s` passing without one more child getting ready: one by one, each child had
        `timeout_s` after the one before it, and a group gets the same."""
        waiting = [child for child in group if child.spec.ready is not None]
        progress_at = time.monotonic()
        while waiting:
            for child in list(waiting):
                self._refuse_if_exited(child)
                assert child.spec.ready is not None
                if await child.spec.ready():
                    waiting.remove(child)
                    progress_at = time.monotonic()
            if not waiting:
                return
            if time.monotonic() - progress_at > timeout_s:
                names = ", ".join(child.spec.name for child in waiting)
                raise RuntimeError(f"{names} not ready within {timeout_s}s")
            await asyncio.sleep(0.1)

    def _refuse_if_exited(self, child: Child) -> None:
        if child.process is not None and child.process.returncode is not None:
            log = self._log_dir / (child.spec.name + ".log")
            said = last_line(log)
            raise RuntimeError(
                f"{child.spec.name} exited with {child.process.returncode} at start"
                + (f": {said}" if said else "")
                + f"; see {log}"
            )

    async def _spawn(self, child: Child) -> None:
        child.state = ChildState.STARTING
        log_path = self._log_dir / f"{child.spec.name}.log"
        with log_path.open("ab") as sink:
            child.process = await asyncio.create_subprocess_exec(
                *child.spec.argv,
                env={**os.environ, **child.spec.env},
                stdout=sink,
                stderr=sink,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with(os.getpid()),  # spawned from the loop thread, before exec
            )
        child.pid = child.process.pid
        child.started_at = time.monotonic()
        child.state = ChildState.RUNNING

    async def _watch(self, child: Child) -> None:
        backoff = BACKOFF_INITIAL_S
        while not self._stopping.is_set():
            assert child.process is not None
            child.last_exit_code = await child.process.wait()
            if self._stopping.is_set():
                break
            stayed_up = time.monotonic() - child.started_at
            backoff = BACKOFF_INITIAL_S if stayed_up >= STABLE_AFTER_S else backoff
            _log.warning(
                f"{child.spec.name} exited with {child.last_exit_code}; restarting in {backoff:g}s",
                extra={"child": child.spec.name, "code": child.last_exit_code, "in_s": backoff},
            )
            child.state = ChildState.BACKING_OFF
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
            if self._stopping.is_set():
                break
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            child.restarts += 1
            if not await self._respawn(child):
                break
        child.state = ChildState.STOPPED

    async def _respawn(self, child: Child) -> bool:
        """Spawn `child`, retrying with backoff while it cannot be; False once stopping."""
        delay = BACKOFF_INITIAL_S
        while not self._stopping.is_set():
            try:
                await self._spawn(child)
            except OSError as error:
                child.state = ChildState.BACKING_OFF
                child.spawn_error = f"{type(error).__name__}: {error}"
                _log.error(
                    f"{child.spec.name} could not be started ({child.spawn_error}); "
                    f"retrying in {delay:g}s",
                    extra={"child": child.spec.name, "error": child.spawn_error, "in_s": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            child.spawn_error = ""
            return True
        return False

    async def stop(self) -> None:
        """SIGTERM every child, last started group first (a group's children together); SIGKILL
        any still alive after the grace."""
        self._stopping.set()
        for group in reversed(self._groups()):
            await asyncio.gather(*(_stop_child(child) for child in reversed(group)))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _stop_child(child: Child) -> None:
    process = child.process
    if process is None or process.returncode is not None:
        child.state = ChildState.STOPPED
        return
    child.state = ChildState.STOPPING
    _signal_group(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=STOP_GRACE_S)
    except TimeoutError:
        _log.warning("child did not stop in time; killing", extra={"child": child.spec.name})
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()
    _signal_group(process.pid, signal.SIGKILL)  # reap anything the child left in its group
    child.state = ChildState.STOPPED


def die_with(supervisor_pid: int) -> Callable[[], None]:
    """In the child before exec: get SIGTERM when the supervisor dies, even by SIGKILL.

    A supervisor killed with SIGKILL runs no cleanup, and its children are in their own process
    groups; Linux's parent-death signal is what stops them from living on unmanaged.
    """

    def arm() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != supervisor_pid:  # it died before the signal was armed
                os._exit(1)

    return arm


def _signal_group(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def last_line(log: Path, limit: int = 300) -> str:
    """The last line a child wrote (its exception, when it died of one), shortened to `limit`;
    "" when it wrote nothing readable."""
    try:
        with log.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 8192))
            tail = file.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"

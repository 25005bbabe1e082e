"""One `mm run` per run directory and per port block, refused before anything starts.

A second `mm run` on the same run directory would start its children on ports the first one
holds: its nats-server fails to bind and is restarted in a loop, while its services, holding the
same bus credentials, connect to the first stack's NATS and join it (a second executor writing
to the same account). On another run directory with the same ports its children crash-loop
instead. Both are refused with what to do:

- the run directory: an exclusive `flock` on `<run_dir>/mm-run.lock`, which holds the owner's
  pid for the message. The kernel drops the lock when the owner exits, however it exits
  (SIGKILL included), so a stale lock file never blocks a later run;
- the ports: every port a child will listen on (each NATS node's client, monitor and route
  ports, the simulator, every service's side port, monitoring) must have no listener on
  loopback. Checked after the lock, so what it finds taken is held by another program or another
  run directory (not by the connections a stopped run left in TIME_WAIT: see `can_listen`).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mm_cli.local_stack import PORT_BLOCK, StackLayout
from mm_cli.supervisor import ChildSpec

LOCK_NAME = "mm-run.lock"


class StackBusyError(RuntimeError):
    """The run directory or a port of the stack is already in use."""


@dataclass
class RunDirLock:
    """Held for the whole run; `release` (or the process's exit) lets the next run take it."""

    lock_file: IO[str]

    def release(self) -> None:
        self.lock_file.close()  # closing the only descriptor drops the flock


def lock_run_dir(run_dir: Path) -> RunDirLock:
    """Take the run directory before anything in it is written; raises `StackBusyError` naming
    the run that holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_file = (run_dir / LOCK_NAME).open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        owner = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise StackBusyError(
            f"another `mm run` (pid {owner}) is using {run_dir}: stop it first (Ctrl-C in its "
            f"terminal, or `kill -INT {owner}`), or give this one its own --run-dir and "
            "--base-port"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return RunDirLock(lock_file)


def claim_stack(
    layout: StackLayout, build: Callable[[], list[ChildSpec]]
) -> tuple[RunDirLock, list[ChildSpec]]:
    """Lock the run directory, then `build` the children (which writes credentials into it) and
    check their ports: the held lock and the specs, or `StackBusyError` (or what `build` raised)
    with the lock released. `mm run` and `LocalStack.start` both start this way."""
    lock = lock_run_dir(layout.run_dir)
    try:
        specs = build()
        check_ports(layout, specs)
    except BaseException:
        lock.release()
        raise
    return lock, specs


def check_ports(layout: StackLayout, specs: list[ChildSpec]) -> None:
    """Raises `StackBusyError` naming each port of the stack already taken on loopback."""
    ports = listening_ports(layout, specs)
    taken = [f"{port} ({name})" for name, port in ports if not can_listen(port)]
    if taken:
        raise StackBusyError(
            f"{'ports' if len(taken) > 1 else 'port'} {', '.join(taken)} already in use on "
            "127.0.0.1: another program, or a stack from another run directory, holds it; stop "
            f"it or choose another --base-port (this stack takes {layout.base_port}.."
            f"{layout.base_port + PORT_BLOCK - 1})"
        )


def listening_ports(layout: StackLayout, specs: list[ChildSpec]) -> list[tuple[str, int]]:
    """(who, port) for every port the stack's children bind, in start order."""
    ports: list[tuple[str, int]] = []
    for node in layout.nats_cluster:
        name = layout.nats_child(node)
        ports.append((name, node.port))
        if layout.nats_nodes > 1:
            ports.append((f"{name} routes", node.route_port))
    nats = {layout.nats_child(node) for node in layout.nats_cluster}
    ports += [
        (f"{spec.name} monitor" if spec.name in nats else spec.name, spec.http_port)
        for spec in specs
        if spec.http_port
    ]
    return ports


def can_listen(port: int) -> bool:
    """Whether a server could listen on loopback `port` now. With SO_REUSEADDR, as nats-server
    and the services' HTTP servers bind: the connections a stack just stopped left in TIME_WAIT
    on its ports (their listeners had SO_REUSEADDR too, which Linux also asks) do not make a
    restart on the same ports look refused; a listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

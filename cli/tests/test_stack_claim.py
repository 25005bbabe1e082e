"""A run directory is one `mm run`'s at a time, and a stack's ports must be free before it starts.

`cli/tests/test_mm_command.py` runs the same refusals through the `mm` script against a live
stack; these check the lock's and the port check's edges without one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mm_cli.local_stack import StackLayout, build_stack, free_base_port
from mm_cli.stack_claim import (
    LOCK_NAME,
    StackBusyError,
    check_ports,
    claim_stack,
    listening_ports,
    lock_run_dir,
)
from mm_cli.supervisor import ChildSpec


def test_a_held_run_directory_is_refused_with_the_owners_pid_until_released(
    tmp_path: Path,
) -> None:
    lock = lock_run_dir(tmp_path)
    with pytest.raises(StackBusyError, match=f"pid {os.getpid()}") as refused:
        lock_run_dir(tmp_path)
    assert str(tmp_path) in str(refused.value)
    assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    lock.release()
    lock_run_dir(tmp_path).release()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path: Path) -> None:
    code = (
        "import time; from pathlib import Path; from mm_cli.stack_claim import lock_run_dir; "
        f"held = lock_run_dir(Path({str(tmp_path)!r})); print('locked', flush=True); time.sleep(60)"
    )
    argv = [sys.executable, "-c", code]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(StackBusyError, match=f"pid {holder.pid}"):
                lock_run_dir(tmp_path)
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
    assert (tmp_path / LOCK_NAME).read_text() == f"{holder.pid}\n"  # the file stays; the lock not
    lock_run_dir(tmp_path).release()


def test_a_taken_port_of_the_stack_is_named_and_a_free_block_passes(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=free_base_port())
    specs = build_stack(layout)
    check_ports(layout, specs)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", layout.http_port("executor")))
        squatter.listen()
        with pytest.raises(StackBusyError) as refused:
            check_ports(layout, specs)
    message = str(refused.value)
    assert f"port {layout.http_port('executor')} (executor) already in use" in message
    assert f"{layout.base_port}..{layout.base_port + 30}" in message


def test_connections_a_stopped_stack_left_in_time_wait_do_not_refuse_a_restart(
    tmp_path: Path,
) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=free_base_port())
    specs = build_stack(layout)
    port = layout.sim_port
    with socket.socket() as server:  # the simulator, serving one request and closing first
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp and NATS do
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server's side closes first: TIME_WAIT on `port`
            client.recv(1)
    assert f"127.0.0.1:{port}" in _time_wait_locals(), "expected a TIME_WAIT socket on the port"
    # What a bind without SO_REUSEADDR (the check's first form) sees:
    with socket.socket() as strict, pytest.raises(OSError):
        strict.bind(("127.0.0.1", port))
    check_ports(layout, specs)


def _time_wait_locals() -> set[str]:
    """Local addresses of loopback TCP sockets in TIME_WAIT (state 06 in /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "06" and local.startswith("0100007F:"):
            found.add(f"127.0.0.1:{int(local.split(':')[1], 16)}")
    return found


def test_every_port_a_child_binds_is_checked(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=free_base_port(), nats_nodes=3, shards=2)
    ports = dict(listening_ports(layout, build_stack(layout)))
    for node in layout.nats_cluster:
        name = layout.nats_child(node)
        assert ports[name] == node.port
        assert ports[f"{name} monitor"] == node.monitor_port
        assert ports[f"{name} routes"] == node.route_port
    assert ports["sim"] == layout.sim_port
    assert ports["executor-2"] == layout.shard_port("executor", 1)
    assert len(set(ports.values())) == len(ports), "expected no port listed twice"
    assert all(layout.base_port <= port < layout.base_port + 31 for port in ports.values())


def test_a_start_refused_after_the_lock_releases_it(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=free_base_port())

    def broken() -> list[ChildSpec]:
        raise RuntimeError("no specs")

    with pytest.raises(RuntimeError, match="no specs"):
        claim_stack(layout, broken)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", layout.sim_port))
        squatter.listen()
        with pytest.raises(StackBusyError, match=f"port {layout.sim_port} \\(sim\\)"):
            claim_stack(layout, lambda: build_stack(layout))
    lock, specs = claim_stack(layout, lambda: build_stack(layout))
    assert any(spec.name == "sim" for spec in specs)
    with pytest.raises(StackBusyError, match="another `mm run`"):
        lock_run_dir(tmp_path)
    lock.release()

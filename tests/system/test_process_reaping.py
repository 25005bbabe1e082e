"""The soak harness leaves no process behind: on SIGTERM every child's process group is reaped.

The harness (`python -m mm_soak`) runs the stack under `mm_cli`'s supervisor, each child in its
own process group. After the harness exits, no process may remain in any of those groups. A
SIGKILL of the harness runs none of its cleanup: the children then stop on Linux's parent-death
signal, which the supervisor arms in each of them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from mm_cli.stack import free_base_port
from mm_runtime.testing import eventually

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
CHILDREN = 6  # nats, sim, md_gateway, quoter, risk, executor


async def _start_harness(tmp_path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mm_soak", "--duration", "600", "--fault-interval", "600",
        "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "out"),
        "--base-port", str(free_base_port()),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def _groups(harness_pid: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(harness_pid).children()}
    except psutil.NoSuchProcess:
        return set()


def _whole_stack(harness_pid: int) -> set[int] | None:
    groups = _groups(harness_pid)
    return groups if len(groups) >= CHILDREN else None


def _members(groups: set[int]) -> list[int]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) in groups:
                found.append(process.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _kill_groups(groups: set[int]) -> None:
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            continue


async def test_sigterm_to_the_harness_reaps_every_child_process_group(tmp_path: Path) -> None:
    harness = await _start_harness(tmp_path)
    groups: set[int] = set()
    try:
        groups = await eventually(
            lambda: _whole_stack(harness.pid),
            timeout=60,
            message="the harness starts the whole stack",
        )
        harness.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(harness.wait(), 60) in (0, 1)
        assert _members(groups) == [], "expected no process left in the children's groups"
    finally:
        if harness.returncode is None:
            harness.kill()
            await harness.wait()
        _kill_groups(groups)


async def test_sigkill_to_the_harness_leaves_no_child_process(tmp_path: Path) -> None:
    harness = await _start_harness(tmp_path)
    groups: set[int] = set()
    try:
        groups = await eventually(
            lambda: _whole_stack(harness.pid),
            timeout=60,
            message="the harness starts the whole stack",
        )
        harness.kill()
        await harness.wait()
        # The parent-death signal is SIGTERM: each child shuts down in its bound (10 s at most).
        await eventually(
            lambda: _members(groups) == [],
            timeout=15,
            interval=0.2,
            message="expected no process left in the children's groups",
        )
    finally:
        _kill_groups(groups)

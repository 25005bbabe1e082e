"""The supervisor restarts a crashed child with backoff and leaves no process behind on stop."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mm_cli import supervisor
from mm_cli.supervisor import ChildSpec, ChildState, Supervisor
from mm_runtime.testing import eventually

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_crashed_child_is_restarted_after_a_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "BACKOFF_INITIAL_S", 0.05)
    marker = tmp_path / "starts"
    crasher = [
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'a').write('x'); raise SystemExit(3)",
    ]
    stack = Supervisor([ChildSpec(name="crasher", argv=crasher)], tmp_path / "logs")
    await stack.start()
    await eventually(lambda: marker.exists() and len(marker.read_text()) >= 3, timeout=10)
    await stack.stop()
    (child,) = stack.children
    assert child.restarts >= 2
    assert child.state is ChildState.STOPPED


async def test_stop_terminates_children_and_their_own_children(tmp_path: Path) -> None:
    grandchild_pid_file = tmp_path / "grandchild.pid"
    parent = [
        sys.executable,
        "-c",
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen({SLEEPER!r})\n"
        f"open({str(grandchild_pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n",
    ]
    stack = Supervisor(
        [ChildSpec(name="parent", argv=parent), ChildSpec(name="sleeper", argv=SLEEPER)],
        tmp_path / "logs",
    )
    await stack.start()
    # The file exists (empty) as soon as `open` runs; the pid is in it once the write lands.
    written = await eventually(lambda: _read_if_exists(grandchild_pid_file), timeout=10)
    pids = [child.pid for child in stack.children] + [int(written)]
    assert all(alive(pid) for pid in pids)
    await stack.stop()
    await eventually(lambda: not any(alive(pid) for pid in pids), timeout=5)


async def test_a_child_that_fails_its_readiness_at_start_stops_the_start(tmp_path: Path) -> None:
    async def never_ready() -> bool:
        return False

    failing = ChildSpec(
        name="broken", argv=[sys.executable, "-c", "raise SystemExit(1)"], ready=never_ready
    )
    stack = Supervisor([failing], tmp_path / "logs")
    with pytest.raises(RuntimeError, match="broken exited with 1 at start"):
        await stack.start()
    await stack.stop()


async def test_a_child_that_dies_at_start_is_reported_with_the_last_line_it_wrote(
    tmp_path: Path,
) -> None:
    async def never_ready() -> bool:
        return False

    code = "print('loading'); raise LookupError('expected linear instruments [FOO] on the venue')"
    dying = ChildSpec(name="gateway", argv=[sys.executable, "-c", code], ready=never_ready)
    stack = Supervisor([dying], tmp_path / "logs")
    with pytest.raises(RuntimeError) as refused:
        await stack.start()
    await stack.stop()
    assert str(refused.value) == (
        "gateway exited with 1 at start: LookupError: expected linear instruments [FOO] on the "
        f"venue; see {tmp_path / 'logs' / 'gateway.log'}"
    )


def test_the_last_line_is_shortened_and_an_empty_or_missing_log_says_nothing(
    tmp_path: Path,
) -> None:
    log = tmp_path / "child.log"
    assert supervisor.last_line(log) == ""
    log.write_bytes(b"first\n\n   \n")
    assert supervisor.last_line(log) == "first"
    log.write_bytes(b"x" * 20_000 + b"\n" + b"\xff" + b"y" * 400 + b"\n\n")
    said = supervisor.last_line(log)
    assert len(said) == 300
    assert said.startswith("\ufffdyyy")
    assert said.endswith("…")


async def test_a_child_whose_log_cannot_be_opened_is_retried_until_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "BACKOFF_INITIAL_S", 0.05)
    marker, go = tmp_path / "starts", tmp_path / "go"
    script = (
        f"import os, time; open({str(marker)!r}, 'a').write('x')\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "raise SystemExit(3)"
    )
    once = [sys.executable, "-c", script]
    logs = tmp_path / "logs"
    stack = Supervisor([ChildSpec(name="once", argv=once)], logs)
    await stack.start()
    (child,) = stack.children
    await eventually(lambda: marker.exists(), timeout=10)
    (logs / "once.log").unlink()
    (logs / "once.log").mkdir()  # the next spawn cannot open its log file
    go.touch()  # now the child exits
    try:
        await eventually(lambda: child.spawn_error.startswith("IsADirectoryError"), timeout=10)
        assert child.state is ChildState.BACKING_OFF
        (logs / "once.log").rmdir()
        await eventually(lambda: len(marker.read_text()) >= 2, timeout=10)
        assert child.spawn_error == ""
    finally:
        await stack.stop()


async def test_a_child_that_cannot_be_spawned_at_start_stops_the_start_saying_why(
    tmp_path: Path,
) -> None:
    missing = ChildSpec(name="ghost", argv=[str(tmp_path / "no-such-binary")])
    stack = Supervisor([missing], tmp_path / "logs")
    with pytest.raises(RuntimeError, match=r"ghost could not be started: .*no-such-binary"):
        await stack.start()
    await stack.stop()


def _read_if_exists(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


async def test_children_started_with_the_previous_one_get_ready_together(tmp_path: Path) -> None:
    """`first` is ready only once `second` runs: one by one, the start would never finish."""
    second_ran = tmp_path / "second-ran"
    spawned_after_ready: list[str] = []

    async def second_has_run() -> bool:
        return second_ran.exists()

    async def ready_now() -> bool:
        return True

    async def gate_ready() -> bool:
        spawned_after_ready.append(stack.children[-1].state.value)
        return True

    specs = [
        ChildSpec(name="gate", argv=SLEEPER, ready=gate_ready),
        ChildSpec(name="first", argv=SLEEPER, ready=second_has_run),
        ChildSpec(
            name="second",
            argv=[
                sys.executable,
                "-c",
                f"open({str(second_ran)!r}, 'w'); import time; time.sleep(600)",
            ],
            ready=ready_now,
            with_previous=True,
        ),
    ]
    stack = Supervisor(specs, tmp_path / "logs")
    try:
        await stack.start(ready_timeout_s=10)
        assert [child.state for child in stack.children] == [ChildState.RUNNING] * 3
        # `first` still waited for `gate`: grouping never skips an earlier child's readiness.
        assert spawned_after_ready == [ChildState.STOPPED.value]
    finally:
        await stack.stop()


async def test_a_child_exiting_at_start_ends_its_groups_start_without_waiting_for_the_others(
    tmp_path: Path,
) -> None:
    """Neither child ever gets ready; `quitter`, started with `waiter`, exits at once. The start
    fails naming `quitter` long before the 60 s timeout, and nothing is left running."""

    async def never() -> bool:
        return False

    quitter = [sys.executable, "-c", "raise SystemExit(4)"]
    specs = [
        ChildSpec(name="waiter", argv=SLEEPER, ready=never),
        ChildSpec(name="quitter", argv=quitter, ready=never, with_previous=True),
    ]
    stack = Supervisor(specs, tmp_path / "logs")
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="quitter exited with 4 at start"):
            await stack.start(ready_timeout_s=60)
        assert time.monotonic() - started < 30
    finally:
        await stack.stop()
    waiter = stack.children[0]
    assert waiter.process is not None
    assert waiter.process.returncode is not None
    assert not alive(waiter.pid)


async def test_a_group_may_take_longer_than_the_timeout_while_its_children_keep_getting_ready(
    tmp_path: Path,
) -> None:
    """As one by one: each child gets the timeout after the one before it was ready, and a
    group where none gets ready for that long fails naming the ones still waiting."""
    begun = time.monotonic()

    def ready_after(seconds: float) -> Callable[[], Awaitable[bool]]:
        async def probe() -> bool:
            return time.monotonic() - begun >= seconds

        return probe

    specs = [
        ChildSpec(name="early", argv=SLEEPER, ready=ready_after(0.6)),
        ChildSpec(name="late", argv=SLEEPER, ready=ready_after(1.2), with_previous=True),
    ]
    stack = Supervisor(specs, tmp_path / "logs")
    try:
        await stack.start(ready_timeout_s=1.0)
        assert time.monotonic() - begun >= 1.2
    finally:
        await stack.stop()
    specs = [
        ChildSpec(name="early", argv=SLEEPER, ready=ready_after(0)),
        ChildSpec(name="never", argv=SLEEPER, ready=ready_after(3600), with_previous=True),
    ]
    stack = Supervisor(specs, tmp_path / "logs-2")
    try:
        with pytest.raises(RuntimeError, match=r"^never not ready within 1.0s$"):
            await stack.start(ready_timeout_s=1.0)
    finally:
        await stack.stop()

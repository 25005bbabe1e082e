"""The `mm` command as an operator runs it: the installed `mm` script in a subprocess against a
live stack that `mm run` started (one stack for the module), and against a bus nobody serves.
Exit codes: 0 done, 1 refused or nothing to show, 2 unusable input or nobody to ask."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mm_cli.local_stack import StackLayout, free_base_port
from mm_runtime.testing import eventually, free_port

pytestmark = [pytest.mark.system, pytest.mark.beside_others]

MM = Path(sys.executable).with_name("mm")  # the console script `pip install` made, as users run it
SERVICES = ("md_gateway", "quoter", "risk", "executor", "ledger")
COMMAND_TIMEOUT_S = 30  # a bound on every command; a hang fails the test instead of stalling it


def mm(*arguments: str, timeout: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MM), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"COLUMNS": "160"},
        check=False,
    )


@dataclass
class MmStack:
    """A stack `mm run` is showing, and `mm` aimed at its bus."""

    layout: StackLayout
    output: Path

    def mm(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        bus = ("--nats", self.layout.nats_url, "--bus-dir", str(self.layout.bus_dir))
        return mm(*arguments, *bus)

    def until(
        self, predicate: Callable[[subprocess.CompletedProcess[str]], bool], *arguments: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `mm arguments` until `predicate` holds for the result (the stack may be settling)."""
        results: list[subprocess.CompletedProcess[str]] = []

        def holds() -> bool:
            results.append(self.mm(*arguments))
            return predicate(results[-1])

        try:
            asyncio.run(eventually(holds, timeout=60, interval=1.0))
        except AssertionError:
            last = results[-1]
            raise AssertionError(f"mm {' '.join(arguments)}: {last.stdout}{last.stderr}") from None
        return results[-1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MmStack]:
    """`mm run` (the live view) on a free block of ports; Ctrl-C at the end must stop it cleanly."""
    root = tmp_path_factory.mktemp("mm-run")
    layout = StackLayout(run_dir=root / "run", base_port=free_base_port())
    output = root / "mm-run.out"
    command = [str(MM), "run", "--run-dir", str(layout.run_dir)]
    command += ["--base-port", str(layout.base_port), "--symbols", ",".join(layout.symbols)]
    with output.open("w") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | {"COLUMNS": "120"},
            start_new_session=True,
        )

    def started() -> bool:
        return "all processes ready" in output.read_text() or process.poll() is not None

    try:
        asyncio.run(eventually(started, timeout=90, interval=0.5, message="mm run starts"))
        assert process.poll() is None, output.read_text()[-3000:]
        yield MmStack(layout, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
    text = output.read_text()
    assert process.returncode == 0, text[-3000:]
    assert text.rstrip().endswith("stopped"), text[-3000:]
    view = text.split("all processes ready", 1)[1]  # the live view's last frame, then the stop
    assert all(f" {service} " in view for service in SERVICES), text[-3000:]
    assert all(symbol in view for symbol in layout.symbols), text[-3000:]


def test_help_lists_every_command() -> None:
    result = mm("--help")
    assert result.returncode == 0
    for command in ("run", "status", "halt", "resume", "cancel-all", "flatten", "config", "tail"):
        assert f"    {command}" in result.stdout
    assert "report" in result.stdout


def test_an_unknown_command_is_refused_with_the_valid_choices() -> None:
    result = mm("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert "status" in result.stderr


def test_no_command_at_all_is_refused() -> None:
    result = mm()
    assert result.returncode == 2
    assert "required: COMMAND" in result.stderr


def test_halt_without_a_reason_is_refused_before_touching_the_bus() -> None:
    result = mm("halt", "--nats", f"nats://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "--reason" in result.stderr
    for verb in ("halt", "resume"):
        blank = mm(verb, "--reason", "  ", "--nats", f"nats://127.0.0.1:{free_port()}")
        assert blank.returncode == 2
        assert "--reason: expected a reason" in blank.stderr


def test_a_count_that_is_not_a_number_is_refused() -> None:
    result = mm("tail", "md.>", "--count", "three")
    assert result.returncode == 2
    assert "invalid int value: 'three'" in result.stderr
    for count in ("0", "-3"):  # a count that can never be reached would wait forever
        never = mm("tail", "md.>", "--count", count, "--nats", f"nats://127.0.0.1:{free_port()}")
        assert never.returncode == 2
        assert f"expected 1 or more messages, found {count}" in never.stderr


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (("--base-port", "70000"), "must be 1..65505"),
        (("--base-port", "x"), "expected a port number, found 'x'"),
        (("--duration", "-1"), "expected a number of seconds above 0, found -1"),
        (("--duration", "nan"), "above 0, found nan"),
        (("--symbols", ","), "expected at least one symbol"),
        (("--symbols", "btcusdt"), "found ['btcusdt']"),
        (("--symbols", "BTCUSDT,BTCUSDT"), "named twice"),
    ],
    ids=["port-range", "port-text", "below-zero", "nan", "no-symbol", "case", "twice"],
)
def test_absurd_run_options_are_refused_before_anything_starts(
    arguments: tuple[str, ...], reason: str, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = mm("run", "--headless", "--run-dir", str(run_dir), *arguments)
    assert result.returncode == 2, result.stdout + result.stderr
    assert reason in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_a_malformed_subject_is_refused_by_tail() -> None:
    result = mm("tail", "md..book")
    assert result.returncode == 1
    assert "mm tail: subject must be dot-separated non-empty tokens" in result.stderr


def test_a_config_key_of_no_service_is_refused() -> None:
    result = mm("config", "get", "nobody.default", "--nats", f"nats://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "config key must start with one of" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ("status",),
        ("halt", "--reason", "drill"),
        ("config", "get", "quoter.default"),
        ("tail", "md.>"),
        ("report", "--json", "--run-dir", "/nonexistent"),
    ],
    ids=["status", "halt", "config", "tail", "report"],
)
def test_a_stopped_stack_is_reported_as_such_within_seconds(arguments: tuple[str, ...]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    result = mm(*arguments, "--nats", url, timeout=15)
    assert result.returncode == 2
    assert f"no NATS server at {url}" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_shows_every_service_up(stack: MmStack) -> None:
    result = stack.until(lambda r: r.returncode == 0, "status")
    lines = result.stdout.splitlines()
    for service in SERVICES:
        assert any(line.startswith(service) for line in lines), result.stdout
    assert "DOWN" not in result.stdout


def test_a_second_run_on_the_same_directory_or_ports_is_refused_and_the_first_goes_on(
    stack: MmStack, tmp_path: Path
) -> None:
    layout = stack.layout
    secrets_before = sorted(path.name for path in layout.bus_dir.iterdir())
    config_before = (layout.bus_dir / "nats.conf").read_bytes()
    run = ("run", "--headless", "--duration", "5")
    same_dir = mm(*run, "--run-dir", str(layout.run_dir), "--base-port", str(free_base_port()))
    said = " ".join(same_dir.stdout.split())
    assert same_dir.returncode == 1, said
    assert "another `mm run` (pid " in said, said
    assert f"is using {layout.run_dir}" in said, said
    assert "starting" not in said, said
    # Refused before writing: the running stack's bus credentials are as they were.
    assert sorted(path.name for path in layout.bus_dir.iterdir()) == secrets_before
    assert (layout.bus_dir / "nats.conf").read_bytes() == config_before

    other = tmp_path / "other-run"
    same_ports = mm(*run, "--run-dir", str(other), "--base-port", str(layout.base_port))
    said = " ".join(same_ports.stdout.split())
    assert same_ports.returncode == 1, said
    assert f"{layout.nats_port} (nats)" in said, said
    assert f"{layout.sim_port} (sim)" in said, said
    assert "starting" not in said, said
    assert not (other / "logs").exists(), said

    result = stack.until(lambda r: r.returncode == 0, "status")
    assert all(line.startswith(SERVICES) for line in result.stdout.splitlines()[:1])
    assert "DOWN" not in result.stdout


def test_halt_and_resume_change_what_status_says(stack: MmStack) -> None:
    halted = stack.mm("halt", "--reason", "cli drill")
    assert halted.returncode == 0, halted.stderr
    assert halted.stdout.startswith("risk: halted")
    status = stack.mm("status")
    assert "halt_reason" in status.stdout
    assert "cli drill" in status.stdout
    again = stack.mm("halt", "--reason", "second")
    assert again.returncode == 0
    assert "already halted" in again.stdout
    resumed = stack.mm("resume", "--reason", "drill over")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("risk: resumed")
    # Risk's own status changes at once; the policy reports its hold as of its last round (every
    # 10 s under `mm run`), so the whole status is read until no service still gives the reason.
    stack.until(lambda r: "cli drill" not in r.stdout, "status")


def test_config_set_stores_a_good_value_and_get_shows_it(stack: MmStack) -> None:
    stored = stack.mm("config", "set", "quoter.BTCUSDT", '{"min_spread_bps": 0.5}')
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert "stored" in stored.stdout
    shown = stack.until(
        lambda r: r.returncode == 0 and "0.5" in r.stdout, "config", "get", "quoter.BTCUSDT"
    )
    [entry] = [line for line in shown.stdout.splitlines() if line.startswith("  quoter.BTCUSDT: ")]
    assert json.loads(entry.split(": ", 1)[1]) == {"min_spread_bps": 0.5}


def test_config_set_of_the_executors_entry_is_routed_to_the_executor_and_applies(
    stack: MmStack,
) -> None:
    stored = stack.mm("config", "set", "executor.default", '{"watchdog_timeout_s": 1.2}')
    assert stored.returncode == 0, stored.stdout + stored.stderr
    assert stored.stdout.startswith("executor: executor.default stored; applies live")
    shown = stack.until(
        lambda r: r.returncode == 0 and '"watchdog_timeout_s":1.2' in r.stdout,
        "config",
        "get",
        "executor.default",
    )
    assert "  effective.default: " in shown.stdout


def test_config_unset_removes_an_entry_and_get_then_finds_none(stack: MmStack) -> None:
    stored = stack.mm("config", "set", "quoter.ETHUSDT", '{"levels": 2}')
    assert stored.returncode == 0, stored.stdout + stored.stderr
    stack.until(lambda r: r.returncode == 0, "config", "get", "quoter.ETHUSDT")
    removed = stack.mm("config", "unset", "quoter.ETHUSDT")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert removed.stdout.startswith("quoter: quoter.ETHUSDT removed; applies live")
    gone = stack.until(lambda r: r.returncode == 1, "config", "get", "quoter.ETHUSDT")
    assert "no entry 'quoter.ETHUSDT'" in gone.stdout


def test_config_set_refuses_a_value_out_of_bounds_and_says_why(stack: MmStack) -> None:
    refused = stack.mm("config", "set", "quoter.ETHUSDT", '{"min_spread_bps": -1}')
    assert refused.returncode == 1
    assert "refused" in refused.stdout
    assert "min_spread_bps" in refused.stdout


def test_config_set_refuses_a_value_that_is_not_json(stack: MmStack) -> None:
    refused = stack.mm("config", "set", "quoter.default", "{min_spread_bps: 1")
    assert refused.returncode == 1
    assert "refused" in refused.stdout


def test_tail_prints_the_asked_number_of_messages_as_json_lines(stack: MmStack) -> None:
    result = stack.mm("tail", "md.book.>", "--count", "3")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert all(line["subject"].startswith("md.book.bybit.linear.") for line in lines)
    assert all("message" in line for line in lines)


def test_tail_of_a_subject_the_operator_may_not_read_fails_instead_of_waiting(
    stack: MmStack,
) -> None:
    result = stack.mm("tail", "ctl.>")
    assert result.returncode == 1
    assert 'permissions violation for subscription to "ctl.>"' in result.stderr.lower()


def test_report_json_is_one_document_once_the_ledger_has_a_snapshot(stack: MmStack) -> None:
    result = stack.until(lambda r: r.returncode == 0, "report", "--json", "--since", "10m")
    document = json.loads(result.stdout)
    assert set(document) >= {"window", "total", "symbols"}
    assert document["window"]["snapshots"] >= 1
    assert set(document["total"]) >= {"spread", "fees", "inventory", "funding", "net"}

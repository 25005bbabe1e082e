"""`mm config` as a person runs it, against the whole local stack: every config owner the registry
names is reached, the executor included (its README documents `mm config set executor.default`)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mm_cli.stack import StackLayout, Supervisor, build_stack, free_base_port
from mm_runtime.testing import eventually

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
MM = str(Path(sys.executable).with_name("mm"))  # the installed `mm` command


@pytest.fixture
async def layout(tmp_path: Path) -> AsyncIterator[StackLayout]:
    layout = StackLayout(run_dir=tmp_path / "run", base_port=free_base_port())
    supervisor = Supervisor(build_stack(layout), layout.log_dir)
    try:
        await supervisor.start(ready_timeout_s=60)
        yield layout
    finally:
        await supervisor.stop()


async def mm(layout: StackLayout, *arguments: str) -> tuple[int, str, str]:
    """Run `mm <arguments> --nats <url> --bus-dir <dir>`; its exit code, stdout and stderr."""
    bus = ("--nats", layout.nats_url, "--bus-dir", str(layout.bus_dir))
    process = await asyncio.create_subprocess_exec(
        MM, *arguments, *bus, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_mm_config_set_reaches_the_executor_and_applies_live(layout: StackLayout) -> None:
    code, out, err = await mm(
        layout, "config", "set", "executor.default", '{"watchdog_timeout_s": 1.2}'
    )
    assert (code, err) == (0, ""), out
    assert out.strip() == "executor: executor.default stored; applies live"

    async def applied() -> str | None:
        code, out, _ = await mm(layout, "config", "get", "executor.default")
        # One reply shape for every owner: the stored entry, then `effective.<scope>` as applied.
        for line in out.splitlines() if code == 0 else []:
            key, _, value = line.strip().partition(": ")
            if key == "effective.default" and json.loads(value)["watchdog_timeout_s"] == 1.2:
                return out
        return None

    shown = await eventually(applied, timeout=15, interval=0.5, message="the executor applies it")
    assert shown.startswith("executor: ")
    assert '"watchdog_timeout_s": 1.2' in shown


async def test_mm_config_refusals_say_why_and_exit_non_zero(layout: StackLayout) -> None:
    code, out, _ = await mm(
        layout, "config", "set", "executor.default", '{"watchdog_timeout_s": 999}'
    )
    assert code == 1
    assert out.startswith("executor: refused")
    assert "watchdog_timeout_s" in out
    code, out, err = await mm(layout, "config", "set", "ledger.default", "{}")
    assert (code, out) == (2, "")
    assert "one of ('quoter', 'risk', 'executor', 'policy'), was 'ledger.default'" in err
    for owner in ("quoter", "risk"):  # reached (an unset key is each owner's own answer)
        code, out, err = await mm(layout, "config", "get", f"{owner}.default")
        assert code in {0, 1}, (owner, err)
        assert out.startswith(f"{owner}: ")

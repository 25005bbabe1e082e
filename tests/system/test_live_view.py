"""The live view and `mm run --headless` from a running stack's real replies: per symbol why quotes
are pulled (the quoter's reason), risk's halt with its reason, and each service's readiness."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from mm_cli.market_watch import MarketWatch
from mm_cli.run_command import refresh_view
from mm_cli.stack import free_base_port
from mm_cli.status_view import headless_lines, render
from mm_proto import CtlReply, HaltRequest, codec, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:
    from mm_soak.running import RunningStack

pytestmark = [pytest.mark.system, pytest.mark.beside_others]

SERVICES = ("md_gateway", "quoter", "risk", "executor")


def text_of(running: RunningStack, health: dict[str, str], watch: MarketWatch) -> str:
    console = Console(width=80, record=True, color_system=None)
    assert running.stack.supervisor is not None
    console.print(render(running.stack.supervisor.children, running.stack.layout, health, watch))
    return console.export_text()


async def test_the_view_shows_readiness_the_halt_reason_and_why_each_symbol_is_pulled(
    trading_stack: RunningStack,
) -> None:
    running = trading_stack
    supervisor, layout = running.stack.supervisor, running.stack.layout
    assert supervisor is not None
    watch = MarketWatch("bybit", "linear", layout.symbols)
    health: dict[str, str] = {}

    async def refreshed_and_ready() -> bool:
        await refresh_view(supervisor, layout, health, watch, running.client)
        return all(health.get(service) == "ready" for service in SERVICES)

    await eventually(refreshed_and_ready, timeout=30, interval=0.5, message="all ready")
    assert watch.halt == ""
    assert "risk: trading" in text_of(running, health, watch)

    halt = HaltRequest(reason="view drill", operator="ops")
    reply = await running.client.request(subjects.ctl("risk", "halt"), codec.encode(halt), 5)
    assert codec.decode(reply.data, CtlReply).ok

    async def pulled_for_the_halt() -> bool:
        await refresh_view(supervisor, layout, health, watch, running.client)
        return all(view.pull_reason == "halted" for view in watch.views.values())

    await eventually(pulled_for_the_halt, timeout=15, interval=0.5, message="quoter pulls")
    assert watch.halt == "by ops: view drill"
    text = text_of(running, health, watch)
    assert "HALTED by ops: view drill" in text
    for symbol in layout.symbols:
        # The markets table's row, not the economics panel's (`BTCUSDT  net+0.000 spr…`), which
        # appears once the ledger has stored its first snapshot.
        [row] = [
            line
            for line in text.splitlines()
            if line.strip().startswith(symbol) and not line.strip().startswith(f"{symbol:<8} net")
        ]
        assert "pulled" in row
        assert "halted" in row
    assert all(len(line) <= 80 for line in text.splitlines())
    lines = headless_lines(supervisor.children, health, watch)
    assert "risk: halted by ops: view drill" in lines
    assert any(line.startswith("BTCUSDT:") and "pulled (halted)" in line for line in lines)
    assert "executor: running ready" in lines


def test_headless_run_prints_the_same_facts_as_plain_lines(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mm_cli", "run", "--headless", "--duration", "25"]
    command += ["--run-dir", str(tmp_path / "run"), "--base-port", str(free_base_port())]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=150)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
    assert process.returncode == 0, output[-3000:]
    lines = output.splitlines()
    assert any(line.startswith("risk: ") for line in lines), output[-3000:]
    btc = [line for line in lines if line.startswith("BTCUSDT: mid ")]
    assert btc, output[-3000:]
    assert all(" bid " in line or "pulled (" in line for line in btc)
    assert any(line.startswith("executor: running ") for line in lines)
    assert not any(line.startswith("executor: running down") for line in lines)

"""`mm report --weekly` over a real nats-server's KPI and RISK streams (snapshots made by the real
ledger over three days, one day left empty, an automatic halt on one), over a weekly file as
the ledger writes it, and the weekly rollup itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.weekly import DAY_NS, file_name, rollup, week_start
from mm_proto import KpiSnapshot, Side
from mm_proto.examples import example_instrument
from mm_runtime.testing import NatsServer

from .kpi_facts import fill, halt, store, top

MINUTE = 60 * 10**9
NOW = time.time_ns()
TODAY = NOW - NOW % DAY_NS
DAYS = [TODAY - 3 * DAY_NS, TODAY - 2 * DAY_NS, TODAY - DAY_NS]  # the middle one stays empty


def snapshots() -> list[KpiSnapshot]:
    """Two minutes of the real ledger on the first and the last day, none in between."""
    found = []
    for day in (DAYS[0], DAYS[2]):
        books = Ledger((10.0,))
        books.add_instrument(example_instrument())
        for minute in range(2):
            ts = day + 3600 * 10**9 + minute * MINUTE
            bid = 650000 + 10 * minute
            books.on_top(top(bid, ts))
            side = Side.BUY if minute == 0 else Side.SELL
            books.on_fill(fill(f"f{day}{minute}", side, bid, ts + 1))
            books.on_top(top(bid + 3, ts + 11 * 10**9))
            found += books.flush(ts, ts + MINUTE)
    return found


def mm_report(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mm_cli", "report", "--weekly", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "220"},
    )


@pytest.fixture
def bus(nats_server: NatsServer, tmp_path: Path) -> list[str]:
    automatic_halt = halt("max_drawdown", DAYS[2] + 2 * 3600 * 10**9)
    asyncio.run(store(nats_server.url, snapshots(), [automatic_halt]))
    return ["--nats", nats_server.url, "--run-dir", str(tmp_path / "no-run")]


def relaxed_gate(tmp_path: Path) -> Path:
    path = tmp_path / "gate.toml"
    required = ["net_per_notional", "taker_share", "no_halt"]
    path.write_text(f"[gate]\nmarkout_10s_bps_min = -1000\nrequired = {json.dumps(required)}\n")
    return path


def test_the_weekly_rollup_has_each_day_per_symbol_and_the_days_gate_verdict(
    bus: list[str], tmp_path: Path
) -> None:
    result = mm_report("--json", "--gate-config", relaxed_gate(tmp_path), *bus)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    days = document["days"]
    assert len(days) == 7  # six days back and today
    names = [time.strftime("%Y-%m-%d", time.gmtime(day / 1e9)) for day in DAYS]
    first, empty, last = (days[name] for name in names)
    assert empty is None  # no data is no data, never a zero day
    for figures in (first, last):
        assert figures["symbols"]["BTCUSDT"]["quoting"]["fills"] == 2
        assert set(figures["symbols"]["BTCUSDT"]["pnl"]) >= {"spread", "fees", "net"}
    assert (first["halts"], last["halts"]) == (0, 1)
    assert first["gate"]["verdict"] == "PASS", first["gate"]
    assert last["gate"]["verdict"] == "FAIL"
    assert last["gate"]["checks"]["no_halt"] == "FAIL"
    table = mm_report("--gate-config", relaxed_gate(tmp_path), *bus)
    assert table.returncode == 0
    assert "no data" in table.stdout
    assert table.stdout.count("BTCUSDT") == 2


def test_the_weekly_page_has_a_trend_plot_for_each_figure(bus: list[str], tmp_path: Path) -> None:
    page = tmp_path / "week.html"
    result = mm_report("--html", page, *bus)
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    for trend in ("net", "presence", "fills", "markout_10s"):
        assert f'<figure id="{trend}"><svg' in text
    assert "no data" in text


def test_a_weekly_file_as_the_ledger_writes_it_is_judged_with_halts_unknown(
    tmp_path: Path,
) -> None:
    start = week_start(DAYS[2])
    document = rollup(snapshots(), start, start + 7 * DAY_NS)
    assert file_name(start).startswith("weekly-")
    assert file_name(start).endswith(".json")
    assert sum(day is not None for day in document["days"].values()) >= 1
    path = tmp_path / file_name(start)
    path.write_text(json.dumps(document))
    result = mm_report("--json", "--file", path)
    assert result.returncode == 0, result.stderr
    judged = json.loads(result.stdout)
    verdicts = [d["gate"] for d in judged["days"].values() if d is not None]
    assert verdicts
    assert all(v["checks"]["no_halt"] == "NO DATA" for v in verdicts)
    assert all(v["verdict"] != "PASS" for v in verdicts)  # every check required: halts unknown


def test_bad_weekly_inputs_say_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a rollup"}')
    for arguments, code, reason in [
        (["--file", bad], 1, "is not a weekly rollup"),
        (["--file", tmp_path / "absent.json"], 1, "cannot read"),
        (["--gate-config", bad], 2, "is not TOML"),
    ]:
        result = mm_report(*arguments)
        assert result.returncode == code, (arguments, result.stderr)
        assert reason in result.stderr

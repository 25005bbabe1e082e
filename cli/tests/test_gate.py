"""`mm gate` as an operator runs it: over the KPI stream of a real nats-server (snapshots made by
the real ledger), over a real backtest of the shipped recording, and with bad input."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger import Ledger
from mm_backtest.engine import Backtest
from mm_backtest.latency import constant_ms
from mm_backtest.output import write_run
from mm_backtest.params import parse_params
from mm_cli.gate_facts import automatic
from mm_cli.gate_thresholds import CHECKS, GateConfigError, Thresholds, load
from mm_cli.report_window import Window
from mm_proto import KpiSnapshot, Side
from mm_proto.examples import example_instrument
from mm_runtime.nats_server import NatsServer as StoreServer
from mm_runtime.nats_server import free_port
from mm_runtime.testing import NatsServer
from mm_sim.settings import SimSettings

from .kpi_facts import fill, halt, store, top

NOW = time.time_ns()
MINUTE = 60 * 10**9
SHIPPED = Path(__file__).parents[2] / "data" / "recordings" / "sim-synthetic"
WITH_DATA_IN_STREAM = ["net_per_notional", "markout_10s", "toxic_share", "taker_share"]
WITHOUT_DATA = ["obligation_coverage", "tick_to_order_p99", "reconciliation"]


def mm_gate(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mm_cli", "gate", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    return path


def rows(out: str) -> dict[str, str]:
    """Each check's table row, by check name."""
    found = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│") if cell.strip()]
        if cells and cells[0] in CHECKS:
            found[cells[0]] = " | ".join(cells)
    return found


def _snapshots() -> list[KpiSnapshot]:
    """Three minutes of the real ledger: blue maker fills, one green taker fill."""
    books = Ledger((10.0,))
    books.add_instrument(example_instrument())
    start = NOW - 5 * MINUTE
    snapshots = []
    for minute in range(3):
        ts = start + minute * MINUTE
        bid = 650000 + 10 * minute
        books.on_top(top(bid, ts))
        side = Side.BUY if minute % 2 == 0 else Side.SELL
        color = "green" if minute == 2 else "blue"
        books.on_fill(fill(f"f{minute}", side, bid, ts + 1, color, is_maker=color == "blue"))
        books.on_top(top(bid + 3, ts + 11 * 10**9))
        snapshots += books.flush(ts, ts + MINUTE)
    return snapshots


@pytest.fixture
def stream(nats_server: NatsServer, tmp_path: Path) -> list[str]:
    """The bus options of `mm gate` for a bus holding the snapshots."""
    asyncio.run(store(nats_server.url, _snapshots()))
    return ["--nats", nats_server.url, "--run-dir", str(tmp_path / "no-run")]


def test_the_thresholds_default_to_every_check_required_and_bad_sections_say_why(
    tmp_path: Path,
) -> None:
    assert load(None) == Thresholds()
    assert load(None).required == CHECKS
    good = load(config(tmp_path, '[gate]\npresence_min = 0.8\nrequired = ["presence"]\n'))
    assert (good.presence_min, good.required) == (0.8, ("presence",))
    for text, reason in [
        ("[gate\n", "not TOML"),
        ("[other]\nx = 1\n", r"no \[gate\] table"),
        ("[gate]\npresense_min = 0.9\n", "unknown gate keys"),
        ('[gate]\nrequired = ["presence", "vibes"]\n', "unknown checks"),
        ('[gate]\nrequired = "presence"\n', "list of check names"),
        ("[gate]\npresence_min = 1.5\n", "between 0 and 1"),
        ("[gate]\ntoxic_share_max = true\n", "finite number"),
        ('[gate]\nmarkout_10s_bps_min = "1"\n', "finite number"),
        ("[gate]\nmarkout_10s_bps_min = nan\n", "finite number"),
        ("[gate]\nmin_fills = 1.5\n", "whole number"),
        ("[gate]\nrejects_per_1000_orders_max = -1\n", "negative"),
    ]:
        with pytest.raises(GateConfigError, match=reason):
            load(config(tmp_path, text))
    with pytest.raises(GateConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")


def test_the_stream_gate_prints_every_check_and_never_passes_one_without_data(
    stream: list[str],
) -> None:
    result = mm_gate("--since", "1h", *stream)
    assert result.returncode == 1, result.stderr  # the green taker fill fails taker share = 0
    table = rows(result.stdout)
    assert list(table) == list(CHECKS)
    assert "1 of 3 fills | <= 0 | FAIL" in table["taker_share"]
    for name in WITHOUT_DATA:
        assert "NO DATA" in table[name]
        assert "PASS" not in table[name]
    assert "0 halts | 0 halts | PASS" in table["no_halt"]  # stream RISK holds none
    assert "gate: FAIL" in result.stdout


def test_an_automatic_halt_in_the_window_fails_no_halt_and_an_operators_does_not(
    stream: list[str], nats_server: NatsServer
) -> None:
    operator = halt("manual", NOW - 2 * MINUTE)
    asyncio.run(store(nats_server.url, events=[operator]))
    assert "0 halts | 0 halts | PASS" in rows(mm_gate("--since", "1h", *stream).stdout)["no_halt"]
    earlier = halt("executor_heartbeat", NOW - 3 * 3600 * 10**9)  # outside the window
    tripped = halt("max_drawdown", NOW - MINUTE)
    reduce = halt("max_position", NOW - MINUTE)
    reduce = msgspec.structs.replace(reduce, outcome="reduce")
    asyncio.run(store(nats_server.url, events=[earlier, tripped, reduce]))
    result = mm_gate("--since", "1h", *stream)
    assert result.returncode == 1
    assert "1 halts | 0 halts | FAIL" in rows(result.stdout)["no_halt"]
    window = Window(NOW - 3600 * 10**9, NOW)
    assert automatic([operator, earlier, tripped, reduce], window) == 1


def test_one_colors_snapshots_pass_when_its_checks_with_data_hold(
    stream: list[str], tmp_path: Path
) -> None:
    required = json.dumps(WITH_DATA_IN_STREAM)
    path = config(tmp_path, f"[gate]\nnet_per_notional_bps_min = -100\nrequired = {required}\n")
    blue = mm_gate("--since", "1h", "--color", "blue", "--config", path, *stream)
    assert blue.returncode == 0, blue.stdout + blue.stderr
    table = rows(blue.stdout)
    for name in WITH_DATA_IN_STREAM:
        assert table[name].endswith("PASS"), table[name]
    assert "0 of 2 fills" in table["taker_share"]
    mine = [s for s in _snapshots() if s.color == "blue"]
    net = sum(Decimal(s.net_pnl) for s in mine)
    notional = sum(Decimal(s.notional) for s in mine if s.side != "all")
    assert f"{float(net / notional * 10_000):.3f} bps" in table["net_per_notional"]
    assert "NO DATA (not required)" in table["obligation_coverage"]
    assert "gate: PASS" in blue.stdout
    green = mm_gate("--since", "1h", "--color", "green", "--config", path, *stream)
    assert green.returncode == 1
    assert "1 of 1 fills" in rows(green.stdout)["taker_share"]


def test_a_required_check_without_data_makes_the_gate_too_little_data(
    stream: list[str], tmp_path: Path
) -> None:
    path = config(tmp_path, '[gate]\nrequired = ["markout_10s", "presence"]\n')
    result = mm_gate("--since", "1h", "--color", "blue", "--config", path, *stream)
    assert result.returncode == 2, result.stdout
    assert "no observed time | >= 0.9 | NO DATA" in rows(result.stdout)["presence"]
    assert "gate: TOO LITTLE DATA" in result.stdout


def test_an_empty_window_or_an_absent_color_is_too_little_data_with_the_reason(
    stream: list[str],
) -> None:
    empty = mm_gate("--from", str(NOW / 1e9 - 7200), "--to", str(NOW / 1e9 - 3600), *stream)
    assert empty.returncode == 2
    assert "no KPI snapshots in" in empty.stderr
    red = mm_gate("--since", "1h", "--color", "red", *stream)
    assert red.returncode == 2
    assert "no snapshots of color 'red'" in red.stderr
    assert "blue" in red.stderr


@pytest.fixture(scope="module")
def backtest_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real backtest of the shipped recording, written as `mm backtest` writes it."""
    linear = [
        c.model_dump(mode="json") for c in SimSettings().instruments if c.category == "linear"
    ]
    document: dict[str, Any] = {
        "instruments": linear,
        "venue": {"maker_fee_rate": "-0.00005"},
        "quoter": {
            "min_spread_bps": 0.05,
            "k_vola_spread": 0,
            "level_size_lots": 10,
            "max_inventory_lots": 100,
        },
    }
    result = Backtest(parse_params(document), [SHIPPED], constant_ms(2), constant_ms(10)).run()
    out = tmp_path_factory.mktemp("backtest")
    write_run(out, result, {"params": document})
    return out / "report.json"


def test_a_backtest_report_is_gated_on_its_figures_and_its_halts(
    backtest_report: Path, tmp_path: Path
) -> None:
    report = json.loads(backtest_report.read_text())
    assert report["backtest"]["fills"] > 0
    with_data = ["markout_10s", "toxic_share", "taker_share", "rejects_per_1000"]
    path = config(
        tmp_path, f"[gate]\nrequired = {json.dumps([*with_data, 'presence', 'no_halt'])}\n"
    )
    result = mm_gate("--report", backtest_report, "--config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert "0 halts | 0 halts | PASS" in table["no_halt"]
    assert "NO DATA" in table["net_per_notional"]  # report.json carries no traded notional
    defaults = mm_gate("--report", backtest_report)
    assert defaults.returncode == 2
    assert "gate: TOO LITTLE DATA" in defaults.stdout
    nothing = tmp_path / "nothing.json"
    nothing.write_text(json.dumps({"total": {"net": "0"}, "symbols": {}}))
    none_required = config(tmp_path, "[gate]\nrequired = []\n")
    empty = mm_gate("--report", nothing, "--config", none_required)
    assert empty.returncode == 2  # nothing required still cannot pass on no data at all
    assert "PASS" not in empty.stdout
    strict = config(tmp_path, "[gate]\nmarkout_10s_bps_min = 50\nrequired = []\n")
    failed = mm_gate("--report", backtest_report, "--config", strict)
    assert failed.returncode == 1
    assert rows(failed.stdout)["markout_10s"].endswith("FAIL")


def test_bad_reports_configs_and_options_exit_2_with_the_reason(
    backtest_report: Path, tmp_path: Path
) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    lacking = tmp_path / "lacking.json"
    lacking.write_text(json.dumps({"total": {"net": "1"}, "symbols": {"BTCUSDT": {}}}))
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"total": {}, "symbols": {"X": []}, "backtest": []}))
    bad_halts = tmp_path / "halts.json"
    bad_halts.write_text(json.dumps({"symbols": {}, "backtest": {"counts": {"halt_x": "1"}}}))
    a_list = tmp_path / "list.json"
    a_list.write_text("[]")
    unknown_key = config(tmp_path, "[gate]\nx = 1\n")
    cases: list[tuple[list[str | Path], str]] = [
        (["--report", not_json], "is not JSON"),
        (["--report", tmp_path / "absent.json"], "cannot read"),
        (["--report", a_list], "is not a report"),
        (["--report", lacking], "lacks a figure"),
        (["--report", odd], "lacks a figure"),
        (["--report", bad_halts], "not a whole number"),
        (["--report", backtest_report, "--since", "1h"], "not both"),
        (["--report", backtest_report, "--color", "green"], "--color applies"),
        (["--report", backtest_report, "--config", unknown_key], "unknown gate keys ['x']"),
        (["--since", "1y"], "unit"),
        (["--to", "1767225600"], "--to needs --from"),
        (["--since", "1h", "--nats", "nats://127.0.0.1:1", "--run-dir", tmp_path], "cannot"),
    ]
    for arguments, reason in cases:
        result = mm_gate(*arguments)
        assert result.returncode == 2, (arguments, result.stdout)
        assert reason in result.stderr, (arguments, result.stderr)


def test_a_stopped_stacks_store_is_gated_from_its_run_dir(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    server = StoreServer(run_dir / "nats")
    server.start()
    try:
        asyncio.run(store(server.url, _snapshots()))
    finally:
        server.stop()
    unreachable = f"nats://127.0.0.1:{free_port()}"
    result = mm_gate("--since", "1h", "--nats", unreachable, "--run-dir", run_dir)
    assert result.returncode == 1, result.stderr
    assert "the stack is stopped" in result.stderr
    assert "1 of 3 fills" in rows(result.stdout)["taker_share"]

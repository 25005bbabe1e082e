"""`mm backtest` as a user runs it: one run, a sweep with its table and heatmap, Ctrl-C, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mm_backtest.synthetic import instrument, write_recording

MM = [sys.executable, "-m", "mm_cli"]


def mm(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MM, "backtest", *map(str, arguments)], capture_output=True, text=True, timeout=100
    )


@pytest.fixture
def params_file(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(document))
    return path


def test_a_run_writes_the_report_the_fills_and_the_page(
    recording: Path, params_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = mm(
        "--data",
        recording,
        "--params",
        params_file,
        "--latency",
        "feed=2",
        "--latency",
        "order=10",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    fills = (out / "fills.jsonl").read_text().splitlines()
    assert report["backtest"]["fills"] == len(fills) > 0
    assert report["backtest"]["order_latency"] == "10 ms"
    assert set(report["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 4
    assert "backtest:" in done.stderr  # progress as plain lines off a terminal
    assert f"{len(fills)} fills" in done.stdout


def test_a_sweep_ranks_every_point_by_net_pnl_and_draws_the_heatmap(
    recording: Path, params_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    started = time.monotonic()
    done = mm(
        "--data",
        recording,
        "--params",
        params_file,
        "--out",
        out,
        "--workers",
        "2",
        "--sweep",
        "min_spread_bps=0.05,0.5",
        "--sweep",
        "levels=1,2",
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    rows = json.loads((out / "sweep.json").read_text())
    assert len(rows) == 4
    nets = [float(row["net"]) for row in rows]
    assert nets == sorted(nets, reverse=True)
    assert {(r["point"]["min_spread_bps"], r["point"]["levels"]) for r in rows} == {
        (0.05, 1),
        (0.05, 2),
        (0.5, 1),
        (0.5, 2),
    }
    for row in rows:
        name = f"min_spread_bps={row['point']['min_spread_bps']},levels={row['point']['levels']}"
        point = json.loads((out / "points" / name / "report.json").read_text())
        assert point["total"]["net"] == row["net"]
    assert "ranked by net PnL" in done.stdout
    heatmap = (out / "heatmap.svg").read_text()
    assert "min_spread_bps" in heatmap
    assert "levels" in heatmap


def test_bad_arguments_exit_1_with_the_reason(
    recording: Path, params_file: Path, tmp_path: Path
) -> None:
    cases: list[tuple[list[str | Path], str]] = [
        (["--data", tmp_path / "absent", "--params", params_file], "no such recording"),
        (["--data", recording, "--params", tmp_path / "none.json"], "cannot read parameters"),
        (["--data", recording, "--params", params_file, "--latency", "wire=3"], "feed=... or"),
        (["--data", recording, "--params", params_file, "--sweep", "levels"], "KEY=V1,V2"),
        (["--data", recording, "--params", params_file, "--sweep", "levels=0,1"], "levels"),
        (["--data", recording, "--params", params_file, "--from", "yesterday"], "ISO 8601"),
    ]
    for arguments, reason in cases:
        done = mm(*arguments, "--out", tmp_path / "out")
        assert done.returncode == 1, (arguments, done.stderr)
        assert reason in done.stderr, (arguments, done.stderr)
        assert "Traceback" not in done.stderr


def test_ctrl_c_stops_a_run_and_keeps_its_partial_results(
    params_file: Path, tmp_path: Path
) -> None:
    long_recording = tmp_path / "long"
    configs = [instrument("BTCUSDT", 0), instrument("ETHUSDT", 1)]
    # The first progress line comes after 4,096 frames; the ~7,000 after it (seconds of replay)
    # are the margin for SIGINT to land mid-run. Writing them is most of this test's time.
    lines = write_recording(
        long_recording, configs, 180, 20, volatility_ticks=4, trade_size_lots=400
    )
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            *MM,
            "backtest",
            "--data",
            str(long_recording),
            "--params",
            str(params_file),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    first = process.stderr.readline()  # the first progress line: the replay is under way
    assert "backtest:" in first
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted; partial results" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["backtest"]["interrupted"] is True
    assert 4_096 <= report["backtest"]["frames"] < lines

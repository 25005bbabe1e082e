"""`mm prelive`'s judgements without a stack: a broken parameter file is NO-GO naming what is
wrong, the gate step names failed and dataless checks, the newest recording hour is chosen, and
bad options exit 2. The quick pack on the simulator is `tests/system/test_prelive.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mm_cli.gate_checks import Evidence
from mm_cli.gate_thresholds import Thresholds
from mm_cli.prelive_checks import gate, validate
from mm_cli.prelive_pack import FAIL, PASS, SKIPPED, Step, document
from mm_cli.prelive_steps import StepError, latest_recording, run_backtest

ROOT = Path(__file__).parents[2]
SHIPPED_PARAMS = ROOT / "deploy" / "prelive" / "params.json"
SHIPPED_RECORDING = ROOT / "data" / "recordings" / "sim-synthetic"


def mm_prelive(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mm_cli", "prelive", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


def broken_params(tmp_path: Path) -> Path:
    shipped: dict[str, Any] = json.loads(SHIPPED_PARAMS.read_text())
    shipped["quoter"]["min_spread_bps"] = -1
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(shipped))
    return path


def test_a_broken_parameter_file_is_no_go_naming_the_config_and_skipping_the_runs(
    tmp_path: Path,
) -> None:
    out = tmp_path / "pack"
    result = mm_prelive("--quick", "--params", broken_params(tmp_path), "--out", out)
    assert result.returncode == 1, result.stdout + result.stderr
    pack = json.loads((out / "pack.json").read_text())
    assert pack["verdict"] == "NO-GO"
    assert pack["failed"] == ["config"]
    assert any("min_spread_bps" in reason for reason in pack["reasons"]), pack["reasons"]
    verdicts = {step["name"]: step["verdict"] for step in pack["steps"]}
    assert verdicts.pop("config") == FAIL
    assert set(verdicts.values()) == {SKIPPED}
    assert len(verdicts) == 7
    page = (out / "index.html").read_text()
    assert "NO-GO" in page
    assert '<figure id="steps">' in page
    assert "[1/8 config] FAIL" in result.stderr


def test_instruments_off_the_simulators_grid_and_bad_gate_sections_are_refused(
    tmp_path: Path,
) -> None:
    shipped: dict[str, Any] = json.loads(SHIPPED_PARAMS.read_text())
    shipped["instruments"][0]["tick_size"] = "0.5"
    shipped["instruments"].append({**shipped["instruments"][0], "symbol": "DOGEUSDT"})
    params = tmp_path / "grid.json"
    params.write_text(json.dumps(shipped))
    gate_toml = tmp_path / "gate.toml"
    gate_toml.write_text("[gate]\npresence_min = 2\n")
    step, parsed, thresholds = validate(params, gate_toml)
    assert (step.verdict, parsed, thresholds) == (FAIL, None, None)
    joined = " | ".join(step.reasons)
    assert "BTCUSDT tick_size 0.5 differs from the simulator's 0.10" in joined
    assert "DOGEUSDT is not one the simulator lists" in joined
    assert "gate.presence_min is a share between 0 and 1" in joined
    good, parsed, thresholds = validate(SHIPPED_PARAMS, None)
    assert good.verdict == PASS
    assert parsed is not None
    assert thresholds == Thresholds()


@pytest.fixture(scope="module")
def backtest_evidence(tmp_path_factory: pytest.TempPathFactory) -> Evidence:
    _, parsed, _ = validate(SHIPPED_PARAMS, None)
    assert parsed is not None
    out = tmp_path_factory.mktemp("backtest")
    files = latest_recording(SHIPPED_RECORDING)
    step, evidence, snapshots = run_backtest(parsed, files, out, float("inf"), lambda _: None)
    assert step.verdict == PASS, step.reasons
    assert evidence is not None
    assert snapshots
    assert (out / "report.html").is_file()
    return evidence


def test_the_backtest_gate_judges_its_figures_and_leaves_out_what_it_cannot_show(
    backtest_evidence: Evidence,
) -> None:
    assert backtest_evidence.notional is not None
    assert backtest_evidence.notional > 0  # from the run's fills: net per notional has data
    step = gate("backtest", backtest_evidence, Thresholds())
    assert step.verdict == PASS, step.reasons
    checks = {check["name"]: check for check in step.details["checks"]}
    assert checks["net_per_notional"]["verdict"] == "PASS"
    for name in ("obligation_coverage", "tick_to_order_p99", "reconciliation"):
        assert checks[name]["verdict"].startswith("not judged: "), checks[name]
        assert name not in step.details["required"]


def test_the_gate_step_names_each_failed_and_each_dataless_required_check(
    backtest_evidence: Evidence,
) -> None:
    strict = replace(Thresholds(), markout_10s_bps_min=5.0, net_per_notional_bps_min=100.0)
    unknown_halts = replace(backtest_evidence, halts=None)
    step = gate("backtest", unknown_halts, strict)
    assert step.verdict == FAIL
    assert step.failed_checks == ["net_per_notional", "markout_10s", "no_halt"]
    assert "no_halt: no data, and it is required" in step.reasons
    pack = document([Step("config", PASS), step], {})
    assert pack["verdict"] == "NO-GO"
    assert pack["failed"] == [
        "backtest_gate.net_per_notional",
        "backtest_gate.markout_10s",
        "backtest_gate.no_halt",
    ]
    stack = gate("stack", Evidence({"symbols": {}}), Thresholds(required=()))
    assert stack.verdict == FAIL  # nothing required and nothing measured is still no pass
    assert "no check had data: a gate cannot pass on nothing" in stack.reasons


def test_the_newest_hour_of_a_recording_tree_is_backtested_for_every_symbol(
    tmp_path: Path,
) -> None:
    for symbol, day, hour in [
        ("BTCUSDT", "2026-01-01", "23"),
        ("BTCUSDT", "2026-01-02", "00"),
        ("ETHUSDT", "2026-01-02", "00"),
        ("ETHUSDT", "2026-01-01", "05"),
    ]:
        folder = tmp_path / "bybit" / "linear" / symbol / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{hour}.jsonl.zst").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a recording")
    newest = latest_recording(tmp_path)
    assert [path.relative_to(tmp_path).parts[2:] for path in newest] == [
        ("BTCUSDT", "2026-01-02", "00.jsonl.zst"),
        ("ETHUSDT", "2026-01-02", "00.jsonl.zst"),
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StepError, match="no recording under"):
        latest_recording(empty)


def test_options_the_pack_cannot_run_with_exit_2_with_the_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for arguments, reason in [
        (["--budget-s", "0"], "--budget-s must be positive"),
        (["--out", blocker / "pack"], "cannot create"),
    ]:
        out = ["--out", tmp_path / "pack"] if "--out" not in arguments else []
        result = mm_prelive("--params", SHIPPED_PARAMS, *out, *arguments)
        assert result.returncode == 2, (arguments, result.stdout, result.stderr)
        assert reason in result.stderr

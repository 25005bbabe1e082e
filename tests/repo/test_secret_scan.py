"""The secret scan `make lint` and the pre-commit hook run (`tools/secret_scan.py`): a planted
secret fails it without being printed, an audited false positive passes, an unaudited one fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT / "tools" / "secret_scan.py"
# Assembled at run time so that this file itself holds no secret-shaped line.
AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"
PLANTED_PHRASE = "hunter" + "2-" + "x9w4q7z1"


def scan(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCAN), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_a_planted_secret_fails_the_scan_and_is_not_printed(tmp_path: Path) -> None:
    planted = tmp_path / "settings.py"
    planted.write_text(f'region = "eu"\naws_key = "{AWS_KEY}"\npassword = "{PLANTED_PHRASE}"\n')
    result = scan(str(planted))
    assert result.returncode == 1
    assert f"{planted}:2: AWS Access Key" in result.stderr
    assert f"{planted}:3: Secret Keyword" in result.stderr
    assert AWS_KEY not in result.stdout + result.stderr
    assert PLANTED_PHRASE not in result.stdout + result.stderr


def test_a_file_with_only_audited_false_positives_passes() -> None:
    # The simulator's published test key: in the baseline, audited as not secret.
    result = scan("sim/src/mm_sim/testing.py")
    assert result.returncode == 0, result.stderr
    assert "nothing new" in result.stdout


def test_a_baseline_entry_nobody_audited_fails_the_scan(tmp_path: Path) -> None:
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())
    [entry, *_] = baseline["results"]["sim/src/mm_sim/testing.py"]
    del entry["is_secret"]
    unaudited = tmp_path / "baseline.json"
    unaudited.write_text(json.dumps(baseline))
    result = scan("--baseline", str(unaudited), "sim/src/mm_sim/testing.py")
    assert result.returncode == 1
    assert "not audited as a false positive" in result.stderr

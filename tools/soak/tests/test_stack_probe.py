"""The probe's log reading: supervised task ends and ends nobody observed, since a mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mm_soak.stack import LocalStack, StackOptions
from mm_soak.stack_probe import StackProbe


def _probe(tmp_path: Path) -> StackProbe:
    stack = LocalStack(StackOptions(run_dir=tmp_path / "run"))
    stack.layout.log_dir.mkdir(parents=True)
    return StackProbe(stack, audit=None, client=None)  # type: ignore[arg-type]  # logs only


def _write(probe: StackProbe, service: str, *records: dict[str, Any] | str) -> None:
    with (probe.stack.layout.log_dir / f"{service}.log").open("a") as log:
        for record in records:
            log.write((record if isinstance(record, str) else json.dumps(record)) + "\n")


def test_only_task_ends_written_after_the_mark_are_found(tmp_path: Path) -> None:
    probe = _probe(tmp_path)
    ended = {"event": "background task ended unexpectedly", "task": "risk-exec-feed"}
    _write(probe, "risk", ended)
    probe.mark_logs()
    assert probe.task_ends() == {}
    _write(probe, "risk", {"event": "started"}, ended)
    _write(probe, "quoter", "Task exception was never retrieved\nfuture: <Task ...>")
    found = probe.task_ends()
    assert found["risk"].supervised == ["risk-exec-feed"]
    assert found["risk"].unobserved == []
    assert found["quoter"].unobserved == ["Task exception was never retrieved"]
    assert "executor" not in found


def test_a_log_truncated_by_rotation_is_read_from_its_start(tmp_path: Path) -> None:
    probe = _probe(tmp_path)
    _write(probe, "executor", *({"event": "filler", "n": n} for n in range(50)))
    probe.mark_logs()
    (probe.stack.layout.log_dir / "executor.log").write_text("")  # copy-and-truncate
    _write(probe, "executor", {"event": "background task ended unexpectedly", "task": "feed"})
    assert probe.task_ends()["executor"].supervised == ["feed"]


def test_readiness_failures_count_only_from_the_moment_asked(tmp_path: Path) -> None:
    probe = _probe(tmp_path)
    probe.not_ready["risk"] = [10.0, 20.0]
    assert probe.went_unready("risk", 15.0)
    assert not probe.went_unready("risk", 25.0)
    assert not probe.went_unready("quoter", 0.0)

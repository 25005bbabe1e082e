"""The stack's public API starts `mm run`'s children with a run's overrides, and says what it
cannot find."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from mm_cli.stack import LocalStack, StackLayout, build_stack
from mm_proto.services import REGISTRY


def layout(tmp_path: Path) -> StackLayout:
    return StackLayout(run_dir=tmp_path, base_port=24_100)


def test_overrides_add_environment_and_replace_a_command_line_for_the_named_child_only(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-m", "some_other_quoter"]
    stack = LocalStack(layout(tmp_path), env={"quoter": {"EXTRA": "1"}}, argv={"quoter": argv})
    specs = {spec.name: spec for spec in stack.specs()}
    plain = {spec.name: spec for spec in build_stack(layout(tmp_path))}
    assert [*specs] == ["nats", "sim", *REGISTRY.names, "rollout"]
    assert specs["quoter"].argv == argv
    assert specs["quoter"].env == {**plain["quoter"].env, "EXTRA": "1"}
    assert specs["risk"].argv == plain["risk"].argv
    assert specs["risk"].env == plain["risk"].env


def test_a_given_api_secret_is_what_the_executor_reads_and_stays_owner_only(
    tmp_path: Path,
) -> None:
    stack = LocalStack(layout(tmp_path), api_secret="canary-secret-value")
    stack.specs()
    secret_file = tmp_path / "secrets" / "api_secret"
    assert stack.credentials()[1] == "canary-secret-value"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_a_stopped_stack_or_an_unknown_service_is_refused_by_name(tmp_path: Path) -> None:
    stack = LocalStack(layout(tmp_path))
    assert stack.pids() == {}
    with pytest.raises(RuntimeError, match="expected a started stack"):
        stack.child("quoter")
    with pytest.raises(KeyError, match="received 'nope'"):
        stack.http_url("nope")
    assert stack.http_url("risk") == f"http://127.0.0.1:{layout(tmp_path).http_port('risk')}"

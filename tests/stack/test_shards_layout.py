"""`mm run --shards 2`: the leased services as two replicas in lease mode, each on its own port
with the whole symbol list; everything else as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.settings import ExecutorSettings
from mm_cli.stack import StackLayout, build_stack
from mm_proto.services import REGISTRY
from mm_runtime.settings import load_settings
from quoter.settings import QuoterSettings


def test_two_shards_start_each_leased_service_twice_with_distinct_ports_and_instances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = StackLayout(tmp_path / "run", shards=2)
    specs = {spec.name: spec for spec in build_stack(layout)}
    leased = [service.name for service in REGISTRY if service.leases]
    assert sorted(leased) == ["executor", "quoter"]
    assert {f"{name}-2" for name in leased} <= set(specs)
    assert len({spec.http_port for spec in specs.values() if spec.http_port}) == len(
        [spec for spec in specs.values() if spec.http_port]
    )
    for name, settings_type in (("executor", ExecutorSettings), ("quoter", QuoterSettings)):
        instances = []
        for child in (name, f"{name}-2"):
            with monkeypatch.context() as patch:
                for variable, value in specs[child].env.items():
                    patch.setenv(variable, value)
                settings = load_settings(settings_type)
            assert settings.lease.enabled
            assert settings.lease.replicas == ["1", "2"]
            assert list(settings.symbols) == list(layout.symbols)
            instances.append(settings.instance_id)
        assert instances == ["1", "2"]
    assert "risk-2" not in specs


def test_one_shard_is_the_stack_as_before_and_three_are_refused(tmp_path: Path) -> None:
    names = [spec.name for spec in build_stack(StackLayout(tmp_path / "run"))]
    assert not [name for name in names if name.endswith("-2")]
    assert not any(
        "LEASE" in key for spec in build_stack(StackLayout(tmp_path / "r")) for key in spec.env
    )
    with pytest.raises(ValueError, match=r"shards must be 1\.\.2"):
        StackLayout(tmp_path / "run", shards=3)

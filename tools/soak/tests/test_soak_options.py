"""The soak's command line and drill rotation: every named drill exists, a bus size is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm_cli.stack import CONTROLLER
from mm_cli.supervisor import ChildSpec
from mm_soak.__main__ import main
from mm_soak.cluster_drills import CLUSTER_DRILLS
from mm_soak.drills import DRILLS
from mm_soak.soak_run import CLUSTER_SOAK_DRILLS, SOAK_DRILLS, SoakOptions
from mm_soak.stack import LocalStack, StackOptions


def test_every_drill_a_soak_rotates_through_exists() -> None:
    known = {**DRILLS, **CLUSTER_DRILLS}
    assert [name for name in SOAK_DRILLS + CLUSTER_SOAK_DRILLS if name not in known] == []


def test_a_clustered_soak_takes_turns_with_every_node_fault_and_no_single_node_bus_fault() -> None:
    options = SoakOptions(duration_s=60, run_dir=Path("r"), out_dir=Path("o"), nats_nodes=3)
    assert set(CLUSTER_DRILLS) <= set(options.drills)
    assert not {"restart-nats", "stop-nats", "store-unwritable"} & set(options.drills)
    single = SoakOptions(duration_s=60, run_dir=Path("r"), out_dir=Path("o"))
    assert single.drills == SOAK_DRILLS


def test_a_bus_of_two_nodes_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--duration", "1", "--nats-cluster", "2"])
    assert exit_info.value.code == 2
    assert "--nats-cluster" in capsys.readouterr().err


def test_a_stack_given_another_rollout_look_interval_runs_controller_and_quoter_at_it(
    tmp_path: Path,
) -> None:
    def specs(**options: float) -> dict[str, ChildSpec]:
        run_dir = tmp_path / str(len(options))
        stack = LocalStack(StackOptions(run_dir=run_dir, **options))  # type: ignore[arg-type]
        return {spec.name: spec for spec in stack.specs()}

    default = specs()
    argv = default[CONTROLLER].argv
    assert argv[argv.index("--interval") + 1] == "5"
    assert "QUOTER_ROLLOUT_LOOK_INTERVAL_S" not in default["quoter"].env
    faster = specs(rollout_look_interval_s=2.0)
    argv = faster[CONTROLLER].argv
    assert argv[argv.index("--interval") + 1] == "2"
    assert faster["quoter"].env["QUOTER_ROLLOUT_LOOK_INTERVAL_S"] == "2"
    assert faster["quoter"].env["QUOTER_PARAMS__MIN_SPREAD_BPS"] == "0.1"  # the rest kept

"""The embedded stack's parts listen on loopback and its secrets are owner-only files."""

from __future__ import annotations

import stat
from pathlib import Path

from mm_cli.local_stack import SERVICES, StackLayout, build_stack
from quoter.settings import QuoterSettings


def test_the_local_stack_listens_on_loopback_and_guards_the_simulator_admin(
    tmp_path: Path,
) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=24_000)
    specs = {spec.name: spec for spec in build_stack(layout)}
    nats_argv = specs["nats"].argv
    assert nats_argv[nats_argv.index("-a") + 1] == "127.0.0.1"  # the monitor binds here too
    token_file = Path(specs["sim"].env["MM_SIM_ADMIN_TOKEN_FILE"])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert layout.sim_admin_headers() == {"Authorization": f"Bearer {token_file.read_text()}"}
    assert "MM_SIM_ADMIN_OPEN" not in specs["sim"].env


def test_the_rollout_controller_follows_the_services_as_the_operator_at_the_quoters_interval(
    tmp_path: Path,
) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=24_000)
    specs = build_stack(layout)
    names = [spec.name for spec in specs]
    assert names.index("rollout") > max(names.index(service) for service in SERVICES)
    argv = specs[names.index("rollout")].argv
    assert argv[1:6] == ["-m", "mm_cli", "rollout", "run", "--interval"]
    # The quoter's default bound assumes this interval: both come from the same constant.
    assert float(argv[6]) == QuoterSettings.model_fields["rollout_look_interval_s"].default
    assert argv[argv.index("--bus-dir") + 1] == str(layout.bus_dir)  # the operator's password
    assert (layout.bus_dir / "operator.password").is_file()
    assert argv[argv.index("--nats") + 1] == layout.nats_url

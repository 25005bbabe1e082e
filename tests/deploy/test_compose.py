"""The compose file against the Compose specification; each service's env against its settings.

The file is read as YAML (merge keys `<<` resolved, as Compose does) and validated by the
`compose-spec` package, Rust bindings of a Compose Specification implementation that refuses
unknown keys, malformed ports and undefined secrets. Beyond the specification: every
`depends_on` names a service, every mounted repository file exists, no secret is a literal, and
each service's environment (files mapped into a temporary directory) loads with its settings class.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from mm_runtime.bus_auth import SERVICE_USERS, prepare_bus_credentials
from mm_runtime.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SETTINGS_CLASSES = {
    "md_gateway": ("md_gateway.settings", "GatewaySettings"),
    "quoter": ("quoter.settings", "QuoterSettings"),
    "risk": ("risk.settings", "RiskSettings"),
    "executor": ("executor.settings", "ExecutorSettings"),
    "ledger": ("ledger.settings", "LedgerSettings"),
    "recorder": ("recorder.settings", "RecorderSettings"),
    "policy": ("policy.settings", "PolicySettings"),
}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def validate(document: dict[str, Any]) -> None:
    """Raise ValueError when `document` is not a valid Compose file."""
    PyCompose.from_json(json.dumps(document)).validate()


def test_compose_file_follows_the_specification() -> None:
    validate(_compose())


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("services", "quoter", "healthcheck", "intervall"), "5s", "intervall"),
        (("services", "nats", "ports"), ["not-a-port"], "error parsing port"),
        (("services", "executor", "secrets"), ["api_passphrase"], "api_passphrase"),
    ],
)
def test_validation_refuses_broken_files(path: tuple[str, ...], value: Any, reason: str) -> None:
    broken = copy.deepcopy(_compose())
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=reason):
        validate(broken)


def test_the_stack_has_every_part() -> None:
    services = _compose()["services"]
    expected = {*SERVICE_USERS, "nats", "sim", "prometheus", "grafana", "jaeger", "bus-credentials"}
    assert set(services) == expected | {"rollout"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert "-js" in services["nats"]["command"]
    assert services["nats"]["command"][:2] == ["-c", "/bus/nats.conf"]
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_every_mounted_repository_file_exists() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    assert (ROOT / "Dockerfile").is_file()


def test_no_secret_is_a_literal() -> None:
    secret_name = re.compile(r"(PASSWORD|SECRET|API_KEY|API_KEYS)$")
    for name, service in _compose()["services"].items():
        for variable in service.get("environment", {}):
            assert not secret_name.search(variable), f"{name}: {variable} must be a *_FILE"
    for secret in _compose()["secrets"].values():
        assert set(secret) == {"file"}


def test_prometheus_scrapes_each_service_on_its_side_port() -> None:
    services = _compose()["services"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in scrape["scrape_configs"]
    }
    for service in SERVICE_USERS:
        port = services[service]["environment"][f"{service.upper()}_HTTP__PORT"]
        assert targets[service] == [f"{service}:{port}"]


@pytest.mark.parametrize("service", SERVICE_USERS)
def test_service_environment_is_accepted_by_its_settings(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What compose hands the container loads, with the bus password the init container wrote."""
    credentials = prepare_bus_credentials(tmp_path / "bus")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("api_key", "api_secret"):
        (secrets / name).write_text(f"{name}-value")
    environment = _compose()["services"][service]["environment"]
    for name, value in environment.items():
        local = value.replace("/bus/", f"{tmp_path / 'bus'}/").replace(
            "/run/secrets/", f"{secrets}/"
        )
        monkeypatch.setenv(name, local)
    module_name, class_name = SETTINGS_CLASSES[service]
    settings = load_settings(getattr(importlib.import_module(module_name), class_name))
    assert settings.nats.user == service
    expected = credentials.password_files[service].read_text()
    assert settings.nats.password.get_secret_value() == expected
    assert settings.http.host == "0.0.0.0"  # listens inside its container
    assert settings.telemetry.exporter == "otlp"


def test_the_rollout_controller_runs_restarted_as_the_operator_with_the_default_interval() -> None:
    """`mm rollout run` with the operator's credentials from the bus volume; no --interval, so
    it looks as often as the quoter's default `rollout_look_interval_s` expects."""
    controller = _compose()["services"]["rollout"]
    command = controller["command"]
    assert command[:5] == ["python", "-m", "mm_cli", "rollout", "run"]
    assert command[command.index("--bus-dir") + 1] == "/bus"
    assert "--interval" not in command
    assert "bus-credentials:/bus:ro" in controller["volumes"]
    assert controller["restart"] == "unless-stopped"
    assert "quoter" not in controller.get("depends_on", {})  # it idles without the quoter


def test_one_multi_stage_image_runs_every_process() -> None:
    """Every container built from the Dockerfile runs a module the image installs."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", dockerfile, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    assert "uv sync --locked --no-dev" in dockerfile  # maturin builds mm_orderbook's wheel here
    assert re.search(r"^USER mm$", dockerfile, flags=re.MULTILINE)
    for name, service in _compose()["services"].items():
        if service.get("image") != "mm:local":
            continue
        assert service["build"] == "."
        command = service["command"]
        assert command[:2] == ["python", "-m"], name
        assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"


def test_neither_the_nats_monitor_nor_the_simulator_admin_is_reachable_from_outside() -> None:
    services = _compose()["services"]
    for name in ("nats", "sim"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    published = [str(port).rsplit(":", 1)[-1] for port in services["nats"]["ports"]]
    assert "8222" not in published
    environment = services["sim"]["environment"]
    assert "MM_SIM_ADMIN_OPEN" not in environment
    assert "MM_SIM_ADMIN_TOKEN" not in environment  # a token would come as a *_FILE secret

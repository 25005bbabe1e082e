"""Prometheus and Alertmanager for the local stack (`mm run --monitoring`), from the shipped config.

Debian's `prometheus` and `prometheus-alertmanager` (`make monitoring` installs them) run as two
more supervised children. Prometheus gets the scrape jobs of `deploy/prometheus/prometheus.yml`
pointed at the stack's side ports on loopback (compose names them `<service>:9100`) and the
shipped `deploy/prometheus/alerts.yml` unchanged; only the intervals are shortened (scrape and
evaluate every second) so a drill sees its alerts within seconds of each rule's own `for`.
Alertmanager groups by alert name and delivers at once, resolved alerts too, to
`StackLayout.alert_webhook` when one is given (a test's), else keeps them for its UI. Both listen
on 127.0.0.1 (Prometheus on base+8, Alertmanager on base+9) and keep their data and generated
config under `<run dir>/monitoring`.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mm_cli.supervisor import ChildSpec

if TYPE_CHECKING:
    from mm_cli.local_stack import StackLayout

ROOT = Path(__file__).resolve().parents[3]
SHIPPED_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SHIPPED_RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
BINARIES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}
Probe = Callable[[int, str], Callable[[], Awaitable[bool]]]


class MonitoringUnavailableError(RuntimeError):
    """Prometheus or Alertmanager is not installed here, or the shipped config is not found."""


def binaries() -> dict[str, str]:
    """The two binaries' paths, or MonitoringUnavailableError saying how to install them."""
    found = {name: shutil.which(binary) for name, binary in BINARIES.items()}
    missing = sorted(BINARIES[name] for name, path in found.items() if path is None)
    if missing:
        raise MonitoringUnavailableError(
            f"{', '.join(missing)} not installed: run `make monitoring` (Debian, as root) or "
            "install your system's prometheus and prometheus-alertmanager packages"
        )
    if not SHIPPED_CONFIG.is_file() or not SHIPPED_RULES.is_file():
        raise MonitoringUnavailableError(
            f"expected the shipped Prometheus config in {SHIPPED_CONFIG.parent}, it is not there "
            "(`mm run --monitoring` runs from a checkout of the repository)"
        )
    return {name: str(path) for name, path in found.items()}


def prometheus_config(layout: StackLayout) -> dict[str, Any]:
    """The shipped scrape config with its targets on the stack's ports and its rules file."""
    config: dict[str, Any] = yaml.safe_load(SHIPPED_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(SHIPPED_RULES)]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{layout.http_port(job['job_name'])}"]}]
    target = f"127.0.0.1:{layout.alertmanager_port}"
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    return config


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": "local"}
    if webhook_url:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    return {
        "route": {
            "receiver": "local",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [receiver],
    }


def monitoring_specs(layout: StackLayout, ready: Probe) -> list[ChildSpec]:
    """Alertmanager, then Prometheus, with their configs written under the run directory."""
    paths = binaries()
    directory = layout.run_dir / "monitoring"
    directory.mkdir(parents=True, exist_ok=True)
    am_config = _write(directory / "alertmanager.yml", alertmanager_config(layout.alert_webhook))
    prom_config = _write(directory / "prometheus.yml", prometheus_config(layout))
    alertmanager = [
        paths["alertmanager"],
        f"--config.file={am_config}",
        f"--storage.path={directory / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{layout.alertmanager_port}",
        "--cluster.listen-address=",  # one instance: no gossip port
    ]
    prometheus = [
        paths["prometheus"],
        f"--config.file={prom_config}",
        f"--storage.tsdb.path={directory / 'prometheus'}",
        f"--web.listen-address=127.0.0.1:{layout.prometheus_port}",
    ]
    return [
        ChildSpec(
            "alertmanager",
            alertmanager,
            http_port=layout.alertmanager_port,
            ready=ready(layout.alertmanager_port, "/-/ready"),
        ),
        ChildSpec(
            "prometheus",
            prometheus,
            http_port=layout.prometheus_port,
            ready=ready(layout.prometheus_port, "/-/ready"),
        ),
    ]


def _write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path

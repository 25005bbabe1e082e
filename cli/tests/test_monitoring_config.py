"""`mm run --monitoring`: Prometheus runs the shipped scrape jobs and rules against the stack's own
ports, and Alertmanager delivers to the webhook given, resolved alerts too."""

from __future__ import annotations

from pathlib import Path

from mm_cli.local_stack import StackLayout
from mm_cli.monitoring import SHIPPED_RULES, alertmanager_config, prometheus_config
from mm_proto.services import REGISTRY


def test_every_service_is_scraped_on_its_side_port_with_the_shipped_rules(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path, base_port=30000, monitoring=True)
    config = prometheus_config(layout)
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {name: [f"127.0.0.1:{layout.http_port(name)}"] for name in REGISTRY.names}
    assert config["rule_files"] == [str(SHIPPED_RULES)]
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["127.0.0.1:30009"]
    assert layout.prometheus_port == 30008


def test_alertmanager_delivers_resolved_alerts_to_the_webhook_and_keeps_them_without_one() -> None:
    hooked = alertmanager_config("http://127.0.0.1:1/alerts")
    [receiver] = hooked["receivers"]
    assert receiver["webhook_configs"] == [
        {"url": "http://127.0.0.1:1/alerts", "send_resolved": True}
    ]
    assert hooked["route"]["receiver"] == receiver["name"]
    assert alertmanager_config("")["receivers"] == [{"name": "local"}]

"""The provisioned Grafana dashboard: valid JSON, every query real PromQL on exported metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "mm.json"


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if "targets" in panel]


def _selectors(expression: str) -> dict[str, set[str]]:
    """Metric name -> label names matched on, for every vector selector (raises if invalid)."""
    found: dict[str, set[str]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names = {matcher.name for matcher in node.matchers.matchers}
            found.setdefault(node.name, set()).update(names)

    promql_parser.walk(promql_parser.parse(expression), visit)
    return found


def test_dashboard_identity_and_layout() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "mm-overview"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]


@pytest.mark.parametrize("panel", _panels(), ids=lambda panel: panel["title"])
def test_panel_queries_parse_and_use_exported_metrics(
    panel: dict[str, Any], series_labels: dict[str, frozenset[str]]
) -> None:
    for target in panel["targets"]:
        assert target["datasource"]["uid"] == "prometheus"
        selectors = _selectors(target["expr"])
        assert selectors, f"{panel['title']}: query selects no metric"
        assert set(selectors) - set(series_labels) == set(), f"{panel['title']}: unknown metrics"
        for name, labels in selectors.items():
            assert labels <= series_labels[name], f"{panel['title']}: {name} lacks {labels}"


def test_every_service_has_panels() -> None:
    expressions = " ".join(target["expr"] for panel in _panels() for target in panel["targets"])
    for prefix in ("md_gateway_", "quoter_", "risk_", "mm_executor_", "mm_bus_"):
        assert prefix in expressions, prefix


def test_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uids = {source["uid"] for source in datasources["datasources"]}
    assert "prometheus" in uids
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/mm.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_rollout_row_shows_every_figure_by_color() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    start = next(i for i, p in enumerate(panels) if p["title"].startswith("Canary rollout"))
    after = [p for p in panels[start + 1 :] if "targets" in p]
    assert len(after) >= 4
    for panel in after:
        for target in panel["targets"]:
            assert "by (color)" in target["expr"], panel["title"]
            assert "{{color}}" in target["legendFormat"], panel["title"]

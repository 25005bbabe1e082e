"""Every setting of every service is documented in its README as `live` or `restart`, and rightly.

Each README's "Settings: live or restart" table names a setting per row (`venue.rest_url`, or
`nats.*` for a whole section whose fields all apply alike), its environment variable and whether
it applies live. The truth comes from the code: a field is live when the service's live config
(`ConfigSpec`, the model of its KV `config` entries) may change it, and restart otherwise. A field
missing from the table, a row naming no field, a wrong environment name or a wrong word fails here,
so the documentation cannot drift from the settings models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from executor.live_config import SPEC as EXECUTOR_SPEC
from executor.settings import ExecutorSettings
from ledger.settings import LedgerSettings
from md_gateway.settings import GatewaySettings
from mm_runtime.live_config import ConfigSpec
from policy.params import SPEC as POLICY_SPEC
from policy.settings import PolicySettings
from recorder.settings import RecorderSettings

ROOT = Path(__file__).parents[2]
HEADING = "## Settings: live or restart"


@dataclass(frozen=True)
class Documented:
    service: str
    settings: type[BaseModel]
    spec: ConfigSpec[Any] | None = None  # its live config; None: it has none
    under: str = ""  # where the spec's model sits in the settings ("params." for the policy)

    def applies(self, path: str) -> str:
        """`live` when a KV entry may change the field, else `restart`."""
        if self.spec is None or not path.startswith(self.under):
            return "restart"
        name = path[len(self.under) :].split(".")[0]
        live = (
            name in self.spec.model.model_fields
            and name not in self.spec.restart_required
            and name not in self.spec.settings_only
        )
        return "live" if live else "restart"


SERVICES = (
    Documented("executor", ExecutorSettings, EXECUTOR_SPEC),
    Documented("md_gateway", GatewaySettings),
    Documented("ledger", LedgerSettings),
    Documented("recorder", RecorderSettings),
    Documented("policy", PolicySettings, POLICY_SPEC, "params."),
)


def leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field's dotted path, into nested sections."""
    found = []
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found += leaves(kind, f"{prefix}{name}.")
        else:
            found.append(prefix + name)
    return found


def table(readme: str) -> list[dict[str, str]]:
    """The rows of the README's settings table, by column name, backticks stripped."""
    section = readme.split(HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def env_name(service: Documented, setting: str) -> str:
    prefix = str(service.settings.model_config.get("env_prefix", ""))
    return prefix + setting.upper().replace(".", "__")


def covered(setting: str, path: str) -> bool:
    return setting == path or (setting.endswith(".*") and path.startswith(setting[:-1]))


def problems(service: Documented, readme: str) -> list[str]:
    """What is wrong with one README's table against the settings model."""
    if HEADING not in readme:
        return [f"{service.service}: no '{HEADING}' section"]
    rows, paths = table(readme), leaves(service.settings)
    found = []
    for row in rows:
        setting, word = row["setting"], row["applies"]
        under = [path for path in paths if covered(setting, path)]
        if not under:
            found.append(f"{setting}: names no field of {service.settings.__name__}")
        if word not in ("live", "restart"):
            found.append(f"{setting}: applies {word!r}, not live or restart")
        wrong = [path for path in under if service.applies(path) != word]
        if wrong:
            found.append(f"{setting}: documented {word}, but {wrong} are not")
        if row["environment"] != env_name(service, setting):
            found.append(
                f"{setting}: environment {row['environment']}, is {env_name(service, setting)}"
            )
    for path in paths:
        if not any(covered(row["setting"], path) for row in rows):
            found.append(f"{path}: not documented as live or restart")
    return found


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.service)
def test_each_setting_is_documented_in_its_readme_as_live_or_restart(service: Documented) -> None:
    readme = (ROOT / "services" / service.service / "README.md").read_text()
    assert problems(service, readme) == []


def test_the_executors_live_fields_are_the_ones_its_config_entries_may_change() -> None:
    executor = SERVICES[0]
    live = [path for path in leaves(ExecutorSettings) if executor.applies(path) == "live"]
    assert sorted(live) == ["cancel_on_shutdown", "watchdog_timeout_s"]


def edit(readme: str, change: Callable[[str], str]) -> str:
    head, rest = readme.split(HEADING, 1)
    return head + HEADING + change(rest)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            lambda text: re.sub(r"\n\| `order_prefix` [^\n]*", "", text),
            "order_prefix: not documented",
        ),
        (lambda text: text.replace("| 0.6 | live |", "| 0.6 | restart |"), "documented restart"),
        (lambda text: text.replace("| 3 | restart |", "| 3 | maybe |"), "not live or restart"),
        (lambda text: text.replace("`retry_delay_s`", "`retry_pause_s`"), "names no field"),
        (lambda text: text.replace("`EXECUTOR_VENUE__WS_URL`", "`EXECUTOR_WS_URL`"), "environment"),
        (lambda text: text.replace("`log.*`", "`logs.*`"), "log.level: not documented"),
    ],
)
def test_a_drifted_table_is_caught_with_the_field_named(
    change: Callable[[str], str], complaint: str
) -> None:
    readme = (ROOT / "services" / "executor" / "README.md").read_text()
    drifted = edit(readme, change)
    assert drifted != readme
    assert any(complaint in problem for problem in problems(SERVICES[0], drifted))

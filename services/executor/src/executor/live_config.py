"""The executor's entries in KV `config`: which fields change live, which need a restart.

Key `executor.default` holds a JSON object. The executor's parameters are not per symbol (one
writer, one account), so `executor.<SYMBOL>` keys are refused. This is the one place that lists
what applies live: `LIVE_FIELDS`; every other settings field is refused with "needs a restart".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from executor.settings import ExecutorSettings

DEFAULT_KEY = "executor.default"


def _positive_seconds(value: Any, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= limit:
        raise ValueError(f"must be seconds in (0, {limit}], was {value!r}")
    return float(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, was {value!r}")
    return value


LIVE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "watchdog_timeout_s": lambda value: _positive_seconds(value, 300.0),
    "cancel_on_shutdown": _boolean,
}
RESTART_FIELDS = frozenset(ExecutorSettings.model_fields) - frozenset(LIVE_FIELDS)


@dataclass
class ConfigChange:
    """What one KV entry asks for: the live values to apply and the fields refused, with why."""

    applied: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def read_entry(key: str, value: bytes | None) -> ConfigChange:
    """Validate one `executor.*` entry; a deleted entry restores the start-up values (empty)."""
    change = ConfigChange()
    if key != DEFAULT_KEY:
        change.refused["*"] = (
            f"executor parameters apply to every symbol: use key {DEFAULT_KEY!r}, was {key!r}"
        )
        return change
    if value is None:
        return change
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        change.refused["*"] = f"value must be a JSON object, was not JSON ({error})"
        return change
    if not isinstance(document, dict):
        change.refused["*"] = f"value must be a JSON object, was {type(document).__name__}"
        return change
    for name, item in document.items():
        if name in LIVE_FIELDS:
            try:
                change.applied[name] = LIVE_FIELDS[name](item)
            except ValueError as error:
                change.refused[name] = str(error)
        elif name in RESTART_FIELDS:
            change.refused[name] = "needs a restart: set it in the environment"
        else:
            change.refused[name] = f"unknown field; live fields are {sorted(LIVE_FIELDS)}"
    return change

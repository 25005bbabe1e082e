"""The executor's entries in KV `config`: which fields change live, which need a restart.

Key `executor.default` holds a JSON object. The executor's parameters are not per symbol (one
writer, one account), so `executor.<SYMBOL>` keys are refused. This is the one place that lists
what applies live: `LIVE_FIELDS`; every other settings field is refused with "needs a restart".

Bounds: `watchdog_timeout_s` in [0.5, 60] seconds, finite. `cancel_on_shutdown` may be switched
on live but never off: turning it off leaves orders resting at the venue after a shutdown (until
the venue's disconnect-cancel fires), which is a decision for the environment at start
(`EXECUTOR_CANCEL_ON_SHUTDOWN=false`, logged as a warning), not a live switch. `MAX_STEP` limits
how far one live change may raise the watchdog timeout against the running value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from executor.settings import ExecutorSettings
from mm_runtime.live_steps import MaxStep, step_refusals

DEFAULT_KEY = "executor.default"
WATCHDOG_BOUNDS_S = (0.5, 60.0)


def _seconds(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"must be seconds in [{low}, {high}], was {value!r}")
    return float(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, was {value!r}")
    return value


def _cancel_on_shutdown(value: Any) -> bool:
    if not _boolean(value):
        raise ValueError(
            "cannot be turned off live: orders would rest at the venue after a shutdown; "
            "set EXECUTOR_CANCEL_ON_SHUTDOWN=false at start if that is meant"
        )
    return True


LIVE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "watchdog_timeout_s": lambda value: _seconds(value, *WATCHDOG_BOUNDS_S),
    "cancel_on_shutdown": _cancel_on_shutdown,
}
MAX_STEP: dict[str, MaxStep] = {"watchdog_timeout_s": MaxStep(up=2.0)}
RESTART_FIELDS = frozenset(ExecutorSettings.model_fields) - frozenset(LIVE_FIELDS)


@dataclass
class ConfigChange:
    """What one KV entry asks for: the live values to apply and the fields refused, with why."""

    applied: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def read_entry(
    key: str, value: bytes | None, running: Mapping[str, Any] | None = None
) -> ConfigChange:
    """Validate one `executor.*` entry; a deleted entry restores the start-up values (empty).

    With `running` (the live values in force) a field moved beyond its `MAX_STEP` is refused.
    """
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
    for reason in step_refusals(MAX_STEP, running or {}, change.applied):
        name = reason.split(" ", 1)[0]
        change.refused[name] = reason
        del change.applied[name]
    return change

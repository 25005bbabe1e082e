"""The KPI gate's thresholds: one `[gate]` section of a TOML file, validated whole before any I/O.

Every field has a documented default (docs/going-live.md); `required` names the checks whose
missing data makes the gate answer "too little data" (exit 2) rather than leave them out.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

CHECKS = (
    "net_per_notional",
    "markout_10s",
    "toxic_share",
    "taker_share",
    "rejects_per_1000",
    "presence",
    "obligation_coverage",
    "tick_to_order_p99",
    "no_halt",
    "reconciliation",
)


class GateConfigError(ValueError):
    """A gate section that cannot be used, with the reason."""


@dataclass(frozen=True)
class Thresholds:
    net_per_notional_bps_min: float = 0.0
    markout_10s_bps_min: float = -1.0
    toxic_share_max: float = 0.5
    taker_share_max: float = 0.0
    rejects_per_1000_orders_max: float = 5.0
    presence_min: float = 0.9
    obligation_coverage_min: float = 0.95
    tick_to_order_p99_ms_max: float = 50.0
    min_fills: int = 1
    required: tuple[str, ...] = CHECKS


_SHARES = ("toxic_share_max", "taker_share_max", "presence_min", "obligation_coverage_min")
_NON_NEGATIVE = ("rejects_per_1000_orders_max", "tick_to_order_p99_ms_max", "min_fills")


def load(path: Path | None) -> Thresholds:
    """The thresholds in `path`'s `[gate]` table (the defaults when no file is given)."""
    if path is None:
        return Thresholds()
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise GateConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GateConfigError(f"{path} is not TOML: {error}") from None
    section = document.get("gate")
    if not isinstance(section, dict):
        raise GateConfigError(f"{path} has no [gate] table")
    return parse(section)


def parse(section: dict[str, object]) -> Thresholds:
    """A `[gate]` table checked field by field; unknown keys and checks are refused."""
    known = {f.name: f for f in fields(Thresholds)}
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise GateConfigError(f"unknown gate keys {unknown}: known are {sorted(known)}")
    values: dict[str, object] = {}
    for key, value in section.items():
        values[key] = _required(value) if key == "required" else _number(key, value)
    thresholds = replace(Thresholds(), **values)  # type: ignore[arg-type]
    for key in _SHARES:
        if not 0 <= getattr(thresholds, key) <= 1:
            raise GateConfigError(f"gate.{key} is a share between 0 and 1")
    for key in _NON_NEGATIVE:
        if getattr(thresholds, key) < 0:
            raise GateConfigError(f"gate.{key} cannot be negative")
    return thresholds


def _number(key: str, value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GateConfigError(f"gate.{key} must be a finite number, was {value!r}")
    if key == "min_fills":
        if not isinstance(value, int):
            raise GateConfigError(f"gate.min_fills must be a whole number, was {value!r}")
        return value
    return float(value)


def _required(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise GateConfigError(f"gate.required must be a list of check names, was {value!r}")
    unknown = sorted(set(value) - set(CHECKS))
    if unknown:
        raise GateConfigError(f"unknown checks {unknown} in gate.required: known are {CHECKS}")
    return tuple(value)

"""How far one live change may move a parameter: a declared `MaxStep` per field.

Bounds belong on the model's fields (pydantic constraints, applied at start and on every change);
a step table next to the model says how much one change to a running service may move a field,
compared with the value in force. Steps only limit the risky direction where one is declared
(`up` for a limit whose rise loosens it, `down` for one whose fall does), so tightening in an
emergency is never refused. A service refuses a change that breaks a step with the reason and
keeps its running value; an operator walks a large change in several steps, each one seen live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class MaxStep:
    """One change may multiply a value by at most `up`, divide it by at most `down`.

    `None` leaves that direction free. A move of at most `absolute` always passes, so a field may
    leave zero (where no ratio can).
    """

    up: float | None = None
    down: float | None = None
    absolute: float = 0.0

    def __post_init__(self) -> None:
        for name in ("up", "down"):
            factor = getattr(self, name)
            if factor is not None and not factor > 1:
                raise ValueError(f"{name} must be a factor above 1 or None, was {factor!r}")
        if self.absolute < 0:
            raise ValueError(f"absolute must be >= 0, was {self.absolute!r}")

    def refusal(self, name: str, before: Any, after: Any) -> str | None:
        """Why moving `name` from `before` to `after` in one change is refused, or None."""
        old, new = _number(before), _number(after)
        if old is None or new is None or new == old or abs(new - old) <= self.absolute:
            return None
        if self.up is not None and new > old * self.up:
            return (
                f"{name} may rise at most {self.up:g}x per change (running {before}, asked "
                f"{after}, at most {_show(old * self.up)} now)"
            )
        if self.down is not None and new < old / self.down:
            return (
                f"{name} may fall at most {self.down:g}x per change (running {before}, asked "
                f"{after}, at least {_show(old / self.down)} now)"
            )
        return None


def step_refusals(
    steps: Mapping[str, MaxStep], before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """Every field of `after` whose move from `before` breaks its step (fields by name)."""
    reasons = []
    for name, step in steps.items():
        if name in before and name in after:
            reason = step.refusal(name, before[name], after[name])
            if reason is not None:
                reasons.append(reason)
    return reasons


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _show(value: float) -> str:
    return f"{value:.6g}"

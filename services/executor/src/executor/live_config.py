"""The executor's live config: the model of `executor.default` in KV `config`, declared once.

The executor's parameters are not per symbol (one writer, one account), so `executor.<SYMBOL>`
keys are refused. `ExecutorLive` lists what applies live; every other settings field named in an
entry is refused with "needs a restart" (`settings_only`) while the entry's live fields apply.
Following, vetting and the ctl replies are `mm_runtime.live_config`'s.

Bounds, on values an entry sets: `watchdog_timeout_s` in [0.5, 60] seconds, finite.
`cancel_on_shutdown` may be switched on live but never off: turning it off leaves orders resting
at the venue after a shutdown (until the venue's disconnect-cancel fires), which is a decision
for the environment at start (`EXECUTOR_CANCEL_ON_SHUTDOWN=false`, logged as a warning), not a
live switch. `MAX_STEP` limits how far one live change may raise the watchdog timeout against the
running value.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from executor.settings import ExecutorSettings
from mm_runtime.live_config import ENTRY_FIELDS, ConfigSpec
from mm_runtime.live_steps import MaxStep

WATCHDOG_BOUNDS_S = (0.5, 60.0)


def _from_entry(info: ValidationInfo) -> bool:
    """Whether the field being validated was set by an entry (not the settings' base)."""
    context = info.context or {}
    return info.field_name in context.get(ENTRY_FIELDS, ())


class ExecutorLive(BaseModel):
    """What an `executor.default` entry may change while the executor runs."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    watchdog_timeout_s: float
    cancel_on_shutdown: bool

    @field_validator("watchdog_timeout_s")
    @classmethod
    def _seconds(cls, value: float, info: ValidationInfo) -> float:
        low, high = WATCHDOG_BOUNDS_S
        if _from_entry(info) and not low <= value <= high:
            raise ValueError(f"must be seconds in [{low}, {high}], was {value!r}")
        return value

    @field_validator("cancel_on_shutdown")
    @classmethod
    def _only_on(cls, value: bool, info: ValidationInfo) -> bool:
        if _from_entry(info) and not value:
            raise ValueError(
                "cannot be turned off live: orders would rest at the venue after a shutdown; "
                "set EXECUTOR_CANCEL_ON_SHUTDOWN=false at start if that is meant"
            )
        return value


SPEC = ConfigSpec(
    prefix="executor",
    model=ExecutorLive,
    settings_only=frozenset(ExecutorSettings.model_fields) - frozenset(ExecutorLive.model_fields),
    max_step={"watchdog_timeout_s": MaxStep(up=2.0)},
    symbol_fields=frozenset(),
)
DEFAULT_KEY = SPEC.key("default")


def base_of(settings: ExecutorSettings) -> ExecutorLive:
    """The values in force with no entry: the settings'."""
    return ExecutorLive(
        watchdog_timeout_s=settings.watchdog_timeout_s,
        cancel_on_shutdown=settings.cancel_on_shutdown,
    )

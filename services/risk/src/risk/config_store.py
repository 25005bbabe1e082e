"""Risk's view of the KV `config` bucket: the `risk.*` entries, turned into validated limits.

At start a poisoned entry never stops risk: when the entries do not build a consistent
`RiskLimits`, risk starts on the defaults plus every entry that still builds with them
(`risk.default` first), and `refused_at_start` says which entries were refused and why, for the
service to report loudly; `config-set` of the refused key repairs it live. Afterwards each change
is applied only when the whole set still validates, no restart-only field moved and no limit was
loosened beyond its step (`risk.limits.MAX_STEP`); otherwise the running limits stay and the
refusal is reported with its reasons. A refused entry stays refused until it is fixed, so later
changes to other keys are refused with it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from risk.limits import (
    CONFIG_KEY_PREFIX,
    DEFAULT_SCOPE,
    LimitsError,
    RiskLimits,
    build_limits,
    step_changes,
)
from risk.limits import restart_required_changes as restart_changes

_log = logging.getLogger("risk.config")
_INITIAL_TIMEOUT_S = 5.0

Apply = Callable[[RiskLimits], None]
Refuse = Callable[[str, list[str]], Awaitable[None]]


class ConfigStore:
    """Watches `risk.>` in the config bucket and keeps the raw entries it has seen."""

    def __init__(self, bucket: KeyValue) -> None:
        self._bucket = bucket
        self._entries: dict[str, bytes] = {}
        self._watcher: KeyValue.KeyWatcher | None = None
        self.refused_at_start: dict[str, list[str]] = {}  # key -> reasons; cleared when fixed

    @property
    def entries(self) -> dict[str, bytes]:
        return dict(self._entries)

    async def load(self) -> RiskLimits:
        """Read every current `risk.*` entry; the limits they build, or the largest part that does.

        Raises only when the bucket does not answer; see `refused_at_start` for what was left out.
        """
        self._watcher = await self._bucket.watch(f"{CONFIG_KEY_PREFIX}>")
        while True:
            try:
                entry = await self._watcher.updates(timeout=_INITIAL_TIMEOUT_S)  # type: ignore[no-untyped-call]
            except nats.errors.TimeoutError:
                raise TimeoutError("config bucket did not finish its initial values") from None
            if entry is None:
                break
            self._remember(entry)
        limits, self.refused_at_start = usable_limits(self._entries)
        return limits

    def _remember(self, entry: KeyValue.Entry) -> None:
        if entry.operation in (KV_DEL, KV_PURGE) or entry.value is None:
            self._entries.pop(entry.key, None)
        else:
            self._entries[entry.key] = entry.value

    async def run(self, running: Callable[[], RiskLimits], apply: Apply, refuse: Refuse) -> None:
        """Apply each later change live, or refuse it; returns when the watcher stops."""
        assert self._watcher is not None
        async for entry in self._watcher:
            if entry is None:
                continue
            self._remember(entry)
            reasons, candidate = self.evaluate(self._entries, running())
            if candidate is None:
                await refuse(entry.key, reasons)
            else:
                self.refused_at_start.clear()
                apply(candidate)

    @staticmethod
    def evaluate(
        entries: dict[str, bytes], running: RiskLimits
    ) -> tuple[list[str], RiskLimits | None]:
        """(reasons, None) when `entries` cannot apply live, else ([], the new limits)."""
        try:
            candidate = build_limits(entries)
        except LimitsError as error:
            return error.reasons, None
        reasons = restart_changes(running, candidate) + step_changes(running, candidate)
        return (reasons, None) if reasons else ([], candidate)

    async def set(self, key: str, value: str, running: RiskLimits) -> list[str]:
        """Validate and store one entry; the reasons it was refused (empty when stored)."""
        if not key.startswith(CONFIG_KEY_PREFIX) or key == CONFIG_KEY_PREFIX:
            return [f"key must be {CONFIG_KEY_PREFIX}<scope>, was {key!r}"]
        reasons, _ = self.evaluate({**self._entries, key: value.encode()}, running)
        if reasons:
            return reasons
        await self._bucket.put(key, value.encode())
        return []

    async def stop(self) -> None:
        if self._watcher is not None:
            # Stopping races the connection's drain at shutdown; either way the watch is over.
            with contextlib.suppress(Exception):
                await self._watcher.stop()  # type: ignore[no-untyped-call]


def usable_limits(entries: dict[str, bytes]) -> tuple[RiskLimits, dict[str, list[str]]]:
    """All `entries` as limits or, when they do not build, the defaults plus each entry that
    still builds with those kept so far (`risk.default` first); the refused keys with reasons."""
    try:
        return build_limits(entries), {}
    except LimitsError:
        pass
    kept: dict[str, bytes] = {}
    refused: dict[str, list[str]] = {}
    default_key = CONFIG_KEY_PREFIX + DEFAULT_SCOPE
    for key in sorted(entries, key=lambda name: (name != default_key, name)):
        try:
            build_limits({**kept, key: entries[key]})
        except LimitsError as error:
            refused[key] = error.reasons
            continue
        kept[key] = entries[key]
    return build_limits(kept), refused

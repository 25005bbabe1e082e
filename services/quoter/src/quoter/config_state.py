"""The quoter's view of its KV config: entries by scope, what a change would do, what was refused.

Pure bookkeeping: the service feeds it each `quoter.*` entry and applies the outcome. While the
service is starting every valid value applies in full (nothing is running yet); afterwards only
live-safe fields change and restart-required ones are refused with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quoter.params import (
    DEFAULT_SCOPE,
    SERVICE_KEY_PREFIX,
    ParamsError,
    QuoterParams,
    apply_live,
    propose,
    scope_of,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused change: its scope, why (`invalid`, `restart_required`, `max_step`), detail."""

    scope: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ConfigOutcome:
    """New params for the symbols whose params change, and what was refused."""

    params: dict[str, QuoterParams] = field(default_factory=dict)
    refusals: tuple[Refusal, ...] = ()


class ConfigState:
    """Entries in force by scope over the settings' base params; the last refusal per scope."""

    def __init__(self, base: QuoterParams) -> None:
        self.base = base
        self.layers: dict[str, dict[str, Any]] = {}
        self.last_refusals: dict[str, str] = {}

    def receive(
        self, key: str, raw: bytes | None, running: dict[str, QuoterParams], starting: bool
    ) -> ConfigOutcome:
        """Take one KV entry (None: deleted) and say what changes for which symbol."""
        scope = scope_of(key)
        if scope != DEFAULT_SCOPE and scope not in running:
            return ConfigOutcome()  # another shard's symbol
        try:
            layers, proposals = propose(self.layers, key, raw, self.base, list(running))
        except ParamsError as error:
            return self._refused([Refusal(scope, "invalid", str(error))])
        self.layers = layers
        if starting:
            return ConfigOutcome(proposals)
        changes: dict[str, QuoterParams] = {}
        refusals: list[Refusal] = []
        for symbol, proposed in proposals.items():
            update = apply_live(running[symbol], proposed)
            refusals += [Refusal(symbol, update.reason, r) for r in update.refused.values()]
            if update.params != running[symbol]:
                changes[symbol] = update.params
        return ConfigOutcome(changes, self._refused(refusals).refusals)

    def _refused(self, refusals: list[Refusal]) -> ConfigOutcome:
        for refusal in refusals:
            self.last_refusals[refusal.scope] = refusal.detail
        return ConfigOutcome(refusals=tuple(refusals))

    def vet(self, key: str, raw: bytes, running: dict[str, QuoterParams]) -> list[str]:
        """Why the running quoter would refuse `raw` under `key` ([] when it would not)."""
        scope = scope_of(key)
        if not scope:
            return [f"key must be {SERVICE_KEY_PREFIX}<scope>, was {key!r}"]
        if scope != DEFAULT_SCOPE and scope not in running:
            return [f"scope must be {DEFAULT_SCOPE!r} or one of {sorted(running)}, was {scope!r}"]
        try:
            _, proposals = propose(self.layers, key, raw, self.base, list(running))
        except ParamsError as error:
            return [str(error)]
        return [
            f"{symbol}: {reason}"
            for symbol, proposed in proposals.items()
            for reason in apply_live(running[symbol], proposed).refused.values()
        ]

    def entries(self) -> dict[str, dict[str, Any]]:
        """The entries in force by full KV key."""
        return {SERVICE_KEY_PREFIX + scope: layer for scope, layer in self.layers.items()}

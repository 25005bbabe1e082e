"""Risk's live config wired: its `LiveConfig` (declared in `risk.limits.SPEC`) to the engine.

At start a poisoned entry never stops risk: the entries stored are applied `risk.default` first,
each kept only when the limits still build with it, so risk starts on the defaults plus every
entry that builds; each refused entry is reported loudly (log, metric, risk event, `status`) and
`config-set` of the refused key repairs it live. Afterwards each change is applied only when the
whole set still validates and no limit was loosened beyond its step (`risk.limits.MAX_STEP`);
a changed restart-only field keeps its running value. Following, vetting and the ctl replies
are `mm_runtime.live_config` / `mm_runtime.config_ctl`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mm_runtime.bus import Bus
from mm_runtime.config_ctl import follow
from mm_runtime.live_config import LiveConfig, Refusal, Values
from risk.limits import SPEC, RiskConfig, RiskLimits, limits_of

Apply = Callable[[RiskLimits], None]
Refuse = Callable[[str, list[str]], Awaitable[None]]
RETRY_S = 2.0  # binding KV `config` again while the bucket does not exist


class ConfigStore:
    """Risk's entries followed; changes after start handed to `apply`, refusals to `refuse`."""

    def __init__(self, apply: Apply, refuse: Refuse) -> None:
        self._apply = apply
        self._refuse = refuse
        self._loaded = RiskLimits()
        self.live_config = LiveConfig(
            SPEC, RiskConfig(), on_change=self._changed, on_refused=self._refused
        )

    @property
    def limits(self) -> RiskLimits:
        return limits_of(self.live_config.values)

    async def load(self, bus: Bus) -> RiskLimits:
        """Follow the entries; the limits they build once those stored at start are applied."""
        await follow(self.live_config, bus, RETRY_S)
        self._loaded = self.limits
        return self._loaded

    def go_live(self) -> None:
        """The engine runs on `load`'s limits: hand it changes from now on (and any since)."""
        self.live_config.go_live()
        if self.limits != self._loaded:
            self._apply(self.limits)

    async def _changed(self, _before: Values[RiskConfig], after: Values[RiskConfig]) -> None:
        if self.live_config.live:  # until then the engine is built from `load`'s limits
            self._apply(limits_of(after))

    async def _refused(self, refusal: Refusal) -> None:
        await self._refuse(refusal.key, [refusal.detail])

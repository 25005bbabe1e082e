"""The executor's live config applied: the watchdog's timeout and the shutdown cancel.

Follows `executor.*` through `mm_runtime.config_ctl.follow` (one KV follower) and hands each
change to the watchdog, its one collaborator here. The entry in the bucket at start applies once
replayed (bounds checked, not steps: nothing is running yet); each later change is checked against
the values in force. A refused field (a poisoned entry included) never stops the executor: it runs
on its settings' values, and the refusal is logged, counted by field and shown in `status`
(`config_refused.executor.default`) until the key applies again.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from executor.live_config import SPEC, ExecutorLive, base_of
from executor.settings import ExecutorSettings
from executor.watchdog import Watchdog
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import follow
from mm_runtime.live_config import LiveConfig, Refusal, Values

_log = logging.getLogger("executor.config")


class ConfigWatch:
    """The executor's `LiveConfig`, applied to the watchdog; refusals counted by field."""

    def __init__(self, settings: ExecutorSettings, watchdog: Watchdog) -> None:
        self._watchdog = watchdog
        self._refused_counter: Counter | None = None
        self.live_config = LiveConfig(
            SPEC, base_of(settings), on_change=self._apply, on_refused=self._count
        )
        if not settings.cancel_on_shutdown:
            _log.warning(
                "cancel_on_shutdown is off: orders rest at the venue after a shutdown until the "
                "venue's disconnect-cancel fires (EXECUTOR_CANCEL_ON_SHUTDOWN=false)"
            )

    @property
    def values(self) -> ExecutorLive:
        return self.live_config.values.default

    async def follow(self, bus: Bus, refused: Counter, retry_s: float) -> None:
        """Follow the entries; returns once the entry stored at start applied."""
        self._refused_counter = refused
        await follow(self.live_config, bus, retry_s)
        self.live_config.go_live()

    async def _apply(self, _before: Values[ExecutorLive], after: Values[ExecutorLive]) -> None:
        self._watchdog.timeout_s = after.default.watchdog_timeout_s

    async def _count(self, refusal: Refusal) -> None:
        if self._refused_counter is not None:
            for name in refusal.fields:
                self._refused_counter.labels(name).inc()

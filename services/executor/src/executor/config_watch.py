"""Following the executor's KV `config` entry and applying its live fields while running."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nats.js import JetStreamContext

from executor.live_config import read_entry
from mm_proto import subjects
from mm_runtime.jetstream import key_value

if TYPE_CHECKING:
    from executor.service import ExecutorService

_log = logging.getLogger("executor.config")


class ConfigWatch:
    """Replays and follows `executor.*` keys; refusals are logged and counted by field."""

    def __init__(self, service: ExecutorService) -> None:
        self.service = service

    async def run(self, jetstream: JetStreamContext) -> None:
        bucket = await key_value(jetstream, subjects.CONFIG_BUCKET)
        watcher = await bucket.watch(f"{self.service.name}.>")
        try:
            async for entry in watcher:
                if entry is None:
                    continue  # the current values have been replayed
                deleted = entry.operation in ("DEL", "PURGE")
                self.apply(entry.key, None if deleted else entry.value)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]

    def apply(self, key: str, value: bytes | None) -> None:
        """Apply one entry's live fields (absent ones back to start-up values)."""
        service, settings = self.service, self.service.settings
        change = read_entry(key, value)
        for name, reason in change.refused.items():
            service.metrics.config_refused.labels(name).inc()
            _log.warning("config refused", extra={"key": key, "field": name, "reason": reason})
        if "*" in change.refused:
            return
        service.watchdog.timeout_s = change.applied.get(
            "watchdog_timeout_s", settings.watchdog_timeout_s
        )
        service.cancel_on_shutdown = change.applied.get(
            "cancel_on_shutdown", settings.cancel_on_shutdown
        )
        _log.info("config applied", extra={"key": key, "applied": str(change.applied)})

"""Following the executor's KV `config` entry, applying its live fields, and `config-set`.

The entry in the bucket at start is replayed first: its fields are checked against their bounds
but not against `MAX_STEP` (nothing is running yet); each later change is checked against the
values in force. A refused field (a poisoned entry included) never stops the executor: it runs on
its settings' values, and the refusal is logged, counted by field and shown in `status`
(`config_refused.<field>`) until an entry without it arrives. `config-set` vets an entry exactly
as the live path would and stores it only when every field would apply.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nats.js import JetStreamContext

from executor.live_config import DEFAULT_KEY, read_entry
from mm_proto import subjects
from mm_runtime.jetstream import key_value

if TYPE_CHECKING:
    from executor.service import ExecutorService

_log = logging.getLogger("executor.config")


class ConfigWatch:
    """Replays and follows `executor.*` keys; refusals are logged and counted by field."""

    def __init__(self, service: ExecutorService) -> None:
        self.service = service
        self.entry = b""  # the raw entry in force, for config-get
        self.refused: dict[str, str] = {}  # field -> why, from the last entry received
        self._jetstream: JetStreamContext | None = None

    def running(self) -> dict[str, Any]:
        """The live values in force."""
        service = self.service
        return {
            "watchdog_timeout_s": service.watchdog.timeout_s,
            "cancel_on_shutdown": service.cancel_on_shutdown,
        }

    async def run(self, jetstream: JetStreamContext) -> None:
        self._jetstream = jetstream
        if not self.service.settings.cancel_on_shutdown:
            _log.warning(
                "cancel_on_shutdown is off: orders rest at the venue after a shutdown until the "
                "venue's disconnect-cancel fires (EXECUTOR_CANCEL_ON_SHUTDOWN=false)"
            )
        bucket = await key_value(jetstream, subjects.CONFIG_BUCKET)
        watcher = await bucket.watch(f"{self.service.name}.>")
        replaying = True
        try:
            async for entry in watcher:
                if entry is None:
                    replaying = False  # the current values have been replayed
                    continue
                deleted = entry.operation in ("DEL", "PURGE")
                self.apply(entry.key, None if deleted else entry.value, starting=replaying)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]

    def apply(self, key: str, value: bytes | None, starting: bool = False) -> None:
        """Apply one entry's live fields (absent ones back to start-up values)."""
        service, settings = self.service, self.service.settings
        change = read_entry(key, value, None if starting else self.running())
        self.refused = dict(change.refused)
        for name, reason in change.refused.items():
            service.metrics.config_refused.labels(name).inc()
            _log.warning("config refused", extra={"key": key, "field": name, "reason": reason})
        if "*" in change.refused:
            return
        self.entry = value or b""
        service.watchdog.timeout_s = change.applied.get(
            "watchdog_timeout_s", settings.watchdog_timeout_s
        )
        service.cancel_on_shutdown = change.applied.get(
            "cancel_on_shutdown", settings.cancel_on_shutdown
        )
        _log.info("config applied", extra={"key": key, "applied": str(change.applied)})

    def vet(self, key: str, value: bytes) -> list[str]:
        """Why the running executor would refuse `value` under `key` ([] when it would not)."""
        change = read_entry(key, value, self.running())
        refused = change.refused.items()
        return [reason if name == "*" else f"{name}: {reason}" for name, reason in refused]

    async def store(self, key: str, value: bytes) -> list[str]:
        """Vet and store one entry; the reasons it was refused (empty when stored)."""
        reasons = self.vet(key, value)
        if reasons:
            return reasons
        if self._jetstream is None:
            return ["the executor is still starting; retry"]
        bucket = await key_value(self._jetstream, subjects.CONFIG_BUCKET)
        await bucket.put(DEFAULT_KEY, value)
        return []

    def status(self) -> dict[str, str]:
        """`config_refused.<field>` for each field of the last entry that was refused."""
        return {f"config_refused.{name}": reason for name, reason in self.refused.items()}

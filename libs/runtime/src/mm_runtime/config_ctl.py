"""A service's live config on the bus: its one KV follower, and `config-get` / `-set` / `-unset`.

`follow` starts the KV follower (`Bus.follow_kv` on `<prefix>.>` of KV `config`) and returns once
the stored entries are replayed and applied; the service calls `LiveConfig.go_live` once started.
`ConfigCommands` answers the two verbs with one reply shape for every service:

- `config-get` of `""` or `<prefix>`: `data` holds each entry in force by key (its JSON object)
  and `effective.<scope>` (the values in force, as JSON) for the default and each symbol; of one
  key: that entry and its scope's `effective.<scope>`, or a refusal naming the keys there are.
- `config-set`: the entry is vetted exactly as the live path would apply it (and by the service's
  own `extra` check, such as the quoter's sizes against risk's limits); refused with
  `refused: <reasons>`, or stored with `<key> stored; applies live`.
- `config-unset`: removing the entry (in force or refused) is vetted the same way (a removal may
  loosen a limit beyond its step); refused with `refused: <reasons>`, or deleted with
  `<key> removed; applies live`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    ConfigUnsetRequest,
    CtlReply,
    Message,
    subjects,
)
from mm_runtime.bus import Bus
from mm_runtime.followers import KvFollower
from mm_runtime.jetstream import key_value
from mm_runtime.live_config import DEFAULT_SCOPE, ConfigError, LiveConfig, Values

# The service's own check of proposed values: (key, values) -> reasons to refuse.
ExtraVet = Callable[[str, Values[Any]], Awaitable[list[str]]]


async def follow(config: LiveConfig[Any], bus: Bus, retry_s: float) -> KvFollower[bytes]:
    """Follow the service's entries; returns once those stored at start are applied."""
    follower = bus.follow_kv(
        subjects.CONFIG_BUCKET, f"{config.spec.prefix}.>", bytes, config.receive, retry_s=retry_s
    )
    await follower.loaded.wait()
    await config.settle()
    return follower


class ConfigCommands:
    """`config-get` and `config-set` for one service's `LiveConfig`."""

    def __init__(self, config: LiveConfig[Any], bus: Bus, extra: ExtraVet | None = None) -> None:
        self._config = config
        self._bus = bus
        self._extra = extra

    async def dispatch(self, request: Message) -> CtlReply | None:
        """The reply to a config request; None for any other request."""
        if isinstance(request, ConfigGetRequest):
            return self.get(request.key)
        if isinstance(request, ConfigSetRequest):
            return await self.set(request.key, request.value)
        if isinstance(request, ConfigUnsetRequest):
            return await self.unset(request.key)
        return None

    async def answer(self, request: Message) -> CtlReply:
        """The reply to a config request; any other request is refused as unsupported (the last
        step of a service's own dispatch, after the verbs it answers itself)."""
        reply = await self.dispatch(request)
        if reply is None:
            return CtlReply(ok=False, message=f"unsupported request {type(request).__name__}")
        return reply

    def get(self, key: str) -> CtlReply:
        config = self._config
        entries = config.entries()
        values = config.values
        if key in ("", config.spec.prefix):
            data = {name: json.dumps(entry) for name, entry in entries.items()}
            scopes = {DEFAULT_SCOPE, *values.symbols, *(config.symbols or ())}
            for scope in sorted(scopes):
                data[f"effective.{scope}"] = _json(values.for_symbol(scope))
            return CtlReply(ok=True, message=f"{config.spec.prefix} configuration", data=data)
        try:
            scope = config.scope_of(key)
        except ConfigError as error:
            return CtlReply(ok=False, message="; ".join(error.reasons))
        if key not in entries:
            return CtlReply(ok=False, message=f"no entry {key!r}; keys: {sorted(entries)}")
        data = {
            key: json.dumps(entries[key]),
            f"effective.{scope}": _json(values.for_symbol(scope)),
        }
        return CtlReply(ok=True, message=key, data=data)

    async def set(self, key: str, value: str) -> CtlReply:
        raw = value.encode()
        reasons = await self._vet(key, raw)
        if reasons:
            return CtlReply(ok=False, message="refused: " + "; ".join(reasons))
        bucket = await key_value(self._bus.client.jetstream(), subjects.CONFIG_BUCKET)
        await bucket.put(key, raw)
        return CtlReply(ok=True, message=f"{key} stored; applies live")

    async def unset(self, key: str) -> CtlReply:
        """Remove an entry (one in force, or one refused), when what is beneath it may apply."""
        config = self._config
        if key not in config.entries() and key not in config.refused:
            return CtlReply(ok=False, message=f"no entry {key!r}; keys: {sorted(config.entries())}")
        reasons = await self._vet(key, None)
        if reasons:
            return CtlReply(ok=False, message="refused: " + "; ".join(reasons))
        bucket = await key_value(self._bus.client.jetstream(), subjects.CONFIG_BUCKET)
        await bucket.delete(key)
        return CtlReply(ok=True, message=f"{key} removed; applies live")

    async def _vet(self, key: str, raw: bytes | None) -> list[str]:
        config = self._config
        reasons = config.vet(key, raw)
        if not reasons and self._extra is not None:
            _, _, proposed, _ = config.propose(key, raw)
            reasons = await self._extra(key, proposed)
        return reasons


def _json(values: BaseModel) -> str:
    return values.model_dump_json()

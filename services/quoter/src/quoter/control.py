"""The quoter's commands on `ctl.quoter.<verb>`: status, config get and config set.

Decoding, the per-verb rate limit, refusing verbs the quoter does not own (halt, resume and
cancel-all are risk's) and always replying are `mm_runtime.control`'s. `config-set`
takes a whole KV entry (`quoter.<scope>` and its JSON object), vets it exactly as the live path
would, and stores it only when it would apply live.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from nats.js.client import JetStreamContext

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    Message,
    StatusRequest,
    subjects,
)
from mm_runtime.jetstream import key_value
from quoter.params import SERVICE_KEY_PREFIX, QuoterParams, propose
from quoter.risk_ceilings import ceiling_refusals, read_position_ceilings
from quoter.status import describe

if TYPE_CHECKING:
    from quoter.service import QuoterService

_log = logging.getLogger("quoter.control")


class Control:
    """Answers control requests against the running service."""

    def __init__(self, service: QuoterService) -> None:
        self._service = service

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        service = self._service
        if isinstance(request, StatusRequest):
            data = describe(service.quoters, service.config.last_refusals, time.time_ns())
            return CtlReply(ok=True, message="status", data=data)
        if isinstance(request, ConfigGetRequest):
            return self._config_get(request)
        if isinstance(request, ConfigSetRequest):
            return await self._config_set(request)
        return CtlReply(ok=False, message=f"unsupported request {type(request).__name__}")

    def _config_get(self, request: ConfigGetRequest) -> CtlReply:
        entries = self._service.config.entries()
        if request.key in ("", SERVICE_KEY_PREFIX.rstrip(".")):
            data = {key: json.dumps(layer) for key, layer in entries.items()}
            for symbol, quoter in self._service.quoters.items():
                data[f"effective.{symbol}"] = quoter.params.model_dump_json()
            return CtlReply(ok=True, message="quoter configuration", data=data)
        if request.key not in entries:
            return CtlReply(ok=False, message=f"no entry {request.key!r}; keys: {sorted(entries)}")
        return CtlReply(
            ok=True, message=request.key, data={request.key: json.dumps(entries[request.key])}
        )

    async def _beyond_risk(
        self, js: JetStreamContext, key: str, raw: bytes, running: dict[str, QuoterParams]
    ) -> list[str]:
        """Sizes the entry would give that exceed risk's position limits (`risk_ceilings`)."""
        config = self._service.config
        _, proposals = propose(config.layers, key, raw, config.base, list(running))
        try:
            ceilings = await read_position_ceilings(js)
        except ValueError as error:
            return [str(error)]
        if ceilings is None:
            return []
        instruments = {s: q.instrument for s, q in self._service.quoters.items()}
        return ceiling_refusals(proposals, instruments, ceilings)

    async def _config_set(self, request: ConfigSetRequest) -> CtlReply:
        service = self._service
        running = {symbol: quoter.params for symbol, quoter in service.quoters.items()}
        raw = request.value.encode()
        reasons = service.config.vet(request.key, raw, running)
        js = service.runtime.bus.client.jetstream()
        if not reasons:
            reasons = await self._beyond_risk(js, request.key, raw, running)
        if reasons:
            return CtlReply(ok=False, message="refused: " + "; ".join(reasons))
        bucket = await key_value(js, subjects.CONFIG_BUCKET)
        await bucket.put(request.key, raw)
        return CtlReply(ok=True, message=f"{request.key} stored; applies live")

"""The quoter's commands on `ctl.quoter.<verb>`: status, config get and config set.

Decoding, the per-verb rate limit, refusing verbs the quoter does not own (halt, resume and
cancel-all are risk's) and always replying are `mm_runtime.control`'s; `config-get` and
`config-set` are `mm_runtime.config_ctl`'s, with one check of the quoter's own: an entry is
refused when the sizes it would give exceed risk's position limits (`risk_ceilings`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mm_proto import CtlReply, Message, StatusRequest
from mm_runtime.config_ctl import ConfigCommands
from mm_runtime.live_config import DEFAULT_SCOPE, Values
from quoter.risk_ceilings import ceiling_refusals, read_position_ceilings
from quoter.status import describe

if TYPE_CHECKING:
    from quoter.service import QuoterService


class Control:
    """Answers control requests against the running service."""

    def __init__(self, service: QuoterService) -> None:
        self._service = service
        bus = service.runtime.bus
        self._config = ConfigCommands(service.config, bus, self._beyond_risk)

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        service = self._service
        if isinstance(request, StatusRequest):
            data = describe(service.quoters, time.time_ns())
            data.update(service.config.status())
            return CtlReply(ok=True, message="status", data=data)
        config = await self._config.dispatch(request)
        if config is not None:
            return config
        return CtlReply(ok=False, message=f"unsupported request {type(request).__name__}")

    async def _beyond_risk(self, key: str, proposed: Values[Any]) -> list[str]:
        """Sizes the entry would give that exceed risk's position limits (`risk_ceilings`)."""
        quoters = self._service.quoters
        scope = self._service.config.scope_of(key)
        affected = list(quoters) if scope == DEFAULT_SCOPE else [scope]
        proposals = {symbol: proposed.for_symbol(symbol) for symbol in affected}
        try:
            ceilings = await read_position_ceilings(self._service.runtime.bus.client.jetstream())
        except ValueError as error:
            return [str(error)]
        if ceilings is None:
            return []
        return ceiling_refusals(proposals, ceilings)

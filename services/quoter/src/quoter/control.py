"""The quoter's commands on `ctl.quoter.<verb>`: status, config get and config set.

Decoding, the per-verb rate limit, refusing verbs the quoter does not own (halt, resume and
cancel-all are risk's) and always replying are `mm_runtime.control`'s; `config-get` and
`config-set` are `mm_runtime.config_ctl`'s, with one check of the quoter's own: an entry is
refused when the sizes it would give exceed risk's position limits (`risk_ceilings`).

It is handed what it reads, not the service: the symbols' quoters, the live config and the bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from mm_proto import CtlReply, Message, StatusRequest
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import ConfigCommands
from mm_runtime.live_config import DEFAULT_SCOPE, LiveConfig, Values
from quoter.params import QuoterParams
from quoter.risk_ceilings import ceiling_refusals, read_position_ceilings
from quoter.status import describe
from quoter.strategy import SymbolQuoter


class Control:
    """Answers control requests against the quoters and the live config."""

    def __init__(
        self,
        quoters: Mapping[str, SymbolQuoter],
        config: LiveConfig[QuoterParams],
        bus: Bus,
        rollout_status: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self._quoters = quoters
        self._rollout_status = rollout_status
        self._live = config
        self._bus = bus
        self._config = ConfigCommands(config, bus, self._beyond_risk)

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        if isinstance(request, StatusRequest):
            data = describe(self._quoters, time.time_ns())
            data.update(self._live.status())
            data.update(self._rollout_status())
            return CtlReply(ok=True, message="status", data=data)
        return await self._config.answer(request)

    async def _beyond_risk(self, key: str, proposed: Values[Any]) -> list[str]:
        """Sizes the entry would give that exceed risk's position limits (`risk_ceilings`)."""
        scope = self._live.scope_of(key)
        affected = list(self._quoters) if scope == DEFAULT_SCOPE else [scope]
        proposals = {symbol: proposed.for_symbol(symbol) for symbol in affected}
        try:
            ceilings = await read_position_ceilings(self._bus.client.jetstream())
        except ValueError as error:
            return [str(error)]
        if ceilings is None:
            return []
        return ceiling_refusals(proposals, ceilings)

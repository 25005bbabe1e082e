"""Risk's commands on `ctl.risk.<verb>`: halt, resume, cancel-all, flatten, status, config get/set.

Decoding, the per-verb rate limit and always replying are `mm_runtime.control`'s; this module
acts on the decoded command. It is handed what it uses, not the service: the engine, the grids,
the live config, the publisher and the flattener, and the service's three actions (`ControlParts`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mm_proto import (
    CancelAllRequest,
    CtlReply,
    FlattenRequest,
    Grid,
    HaltRequest,
    Message,
    ResumeRequest,
    StatusRequest,
)
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import ConfigCommands
from mm_runtime.live_config import LiveConfig
from risk.engine import RiskEngine
from risk.flatten import Flattener, plan_flatten
from risk.publisher import Publisher

_log = logging.getLogger("risk.control")


@dataclass(frozen=True)
class ControlParts:
    """What risk's commands read and use, and the service's three actions."""

    engine: RiskEngine
    instruments: Mapping[str, Grid]  # each guarded symbol's grid
    live_config: LiveConfig[Any]
    publisher: Publisher
    flattener: Flattener
    halt: Callable[[str, str, str], Awaitable[bool]]  # reason, by, trigger -> halted now
    resume: Callable[[str, str], Awaitable[str]]  # reason, by -> "" or why not
    flatten_step: Callable[[str], Awaitable[None]]  # symbol


NO_REASON = "(no reason given)"


class Control:
    """Answers control requests against risk's engine, grids and live config."""

    def __init__(self, parts: ControlParts, bus: Bus) -> None:
        self._parts = parts
        self._config = ConfigCommands(parts.live_config, bus)

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        if isinstance(request, HaltRequest):
            return await self._halt(request)
        if isinstance(request, ResumeRequest):
            if not request.reason.strip():  # the halt state keeps why trading went back on
                return CtlReply(ok=False, message="not resumed: a resume needs a reason, was ''")
            refusal = await self._parts.resume(request.reason, request.operator)
            if refusal:
                return CtlReply(ok=False, message=f"not resumed: {refusal}")
            return CtlReply(ok=True, message="resumed")
        if isinstance(request, CancelAllRequest):
            return await self._cancel_all(request)
        if isinstance(request, FlattenRequest):
            return await self._flatten(request)
        if isinstance(request, StatusRequest):
            data = self._parts.engine.status()
            data.update(self._parts.live_config.status())
            return CtlReply(ok=True, message="status", data=data)
        return await self._config.answer(request)

    async def _halt(self, request: HaltRequest) -> CtlReply:
        if not request.operator:
            return CtlReply(ok=False, message="operator must be named, was ''")
        # A halt without a reason still halts (safety first); the state says none was given.
        reason = request.reason.strip() or NO_REASON
        halted = await self._parts.halt(reason, request.operator, "manual")
        status = self._parts.engine.halt_status
        if not halted:
            return CtlReply(ok=True, message=f"already halted by {status.by}: {status.reason}")
        return CtlReply(ok=True, message="halted")

    async def _cancel_all(self, request: CancelAllRequest) -> CtlReply:
        instruments = self._parts.instruments
        if request.symbol and request.symbol not in instruments:
            return CtlReply(
                ok=False,
                message=f"symbol must be one of {sorted(instruments)}, was {request.symbol!r}",
            )
        symbols = [request.symbol] if request.symbol else list(instruments)
        for symbol in symbols:
            await self._parts.publisher.target(self._parts.engine.cancel_all_target(symbol))
        return CtlReply(ok=True, message=f"cancel-all sent for {', '.join(symbols)}")

    async def _flatten(self, request: FlattenRequest) -> CtlReply:
        """Start flattening one symbol (allowed while halted), or say why not."""
        if request.symbol not in self._parts.instruments:
            return CtlReply(
                ok=False,
                message=f"symbol must be one of {sorted(self._parts.instruments)}, "
                f"was {request.symbol[:64]!r}",
            )
        if not request.operator:
            return CtlReply(ok=False, message="operator must be named, was ''")
        engine = self._parts.engine
        position = engine.portfolio.position_lots(request.symbol)
        planned = plan_flatten(
            request.symbol, position, engine.market(request.symbol), request.max_slippage_bps
        )
        if isinstance(planned, str):
            return CtlReply(ok=False, message=f"not flattening: {planned}")
        side, level = (
            ("sell", planned.ladder.asks[0]) if position > 0 else ("buy", planned.ladder.bids[0])
        )
        detail = (
            f"flatten by {request.operator}: {side} {level.size_lots} lots reduce-only "
            f"{planned.time_in_force} at {level.price_ticks} ticks"
        )
        _log.warning("flatten", extra={"symbol": request.symbol, "detail": detail})
        self._parts.flattener.start(request.symbol, request.max_slippage_bps)
        await self._parts.flatten_step(request.symbol)
        await self._parts.publisher.event(
            request.symbol, "flatten", "pass", Decimal(position), Decimal(0), detail
        )
        return CtlReply(ok=True, message=detail, data={"position_lots": str(position)})

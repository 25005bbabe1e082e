"""Risk's commands on `ctl.risk.<verb>`: halt, resume, cancel-all, flatten, status, config get/set.

Decoding, the per-verb rate limit and always replying are `mm_runtime.control`'s; this module
acts on the decoded command.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from mm_proto import (
    CancelAllRequest,
    CtlReply,
    FlattenRequest,
    HaltRequest,
    Message,
    ResumeRequest,
    StatusRequest,
)
from mm_runtime.config_ctl import ConfigCommands
from risk.flatten import plan_flatten

if TYPE_CHECKING:
    from risk.service import RiskService

_log = logging.getLogger("risk.control")


class Control:
    """Answers control requests against the running service."""

    def __init__(self, service: RiskService) -> None:
        self._service = service
        self._config = ConfigCommands(service.config.live_config, service.runtime.bus)

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        service = self._service
        if isinstance(request, HaltRequest):
            return await self._halt(request)
        if isinstance(request, ResumeRequest):
            refusal = await service.resume(request.reason, request.operator)
            if refusal:
                return CtlReply(ok=False, message=f"not resumed: {refusal}")
            return CtlReply(ok=True, message="resumed")
        if isinstance(request, CancelAllRequest):
            return await self._cancel_all(request)
        if isinstance(request, FlattenRequest):
            return await self._flatten(request)
        if isinstance(request, StatusRequest):
            data = service.engine.status()
            data.update(service.config.live_config.status())
            return CtlReply(ok=True, message="status", data=data)
        config = await self._config.dispatch(request)
        if config is not None:
            return config
        return CtlReply(ok=False, message=f"unsupported request {type(request).__name__}")

    async def _halt(self, request: HaltRequest) -> CtlReply:
        if not request.operator:
            return CtlReply(ok=False, message="operator must be named, was ''")
        halted = await self._service.halt(request.reason, request.operator, "manual")
        status = self._service.engine.halt_status
        if not halted:
            return CtlReply(ok=True, message=f"already halted by {status.by}: {status.reason}")
        return CtlReply(ok=True, message="halted")

    async def _cancel_all(self, request: CancelAllRequest) -> CtlReply:
        instruments = self._service.instruments
        if request.symbol and request.symbol not in instruments:
            return CtlReply(
                ok=False,
                message=f"symbol must be one of {sorted(instruments)}, was {request.symbol!r}",
            )
        symbols = [request.symbol] if request.symbol else list(instruments)
        for symbol in symbols:
            await self._service.publisher.target(self._service.engine.cancel_all_target(symbol))
        return CtlReply(ok=True, message=f"cancel-all sent for {', '.join(symbols)}")

    async def _flatten(self, request: FlattenRequest) -> CtlReply:
        """Start flattening one symbol (allowed while halted), or say why not."""
        service = self._service
        if request.symbol not in service.instruments:
            return CtlReply(
                ok=False,
                message=f"symbol must be one of {sorted(service.instruments)}, "
                f"was {request.symbol[:64]!r}",
            )
        if not request.operator:
            return CtlReply(ok=False, message="operator must be named, was ''")
        engine = service.engine
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
        service.flattener.start(request.symbol, request.max_slippage_bps)
        await service.flatten_step(request.symbol)
        await service.publisher.event(
            request.symbol, "flatten", "pass", Decimal(position), Decimal(0), detail
        )
        return CtlReply(ok=True, message=detail, data={"position_lots": str(position)})

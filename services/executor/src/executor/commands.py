"""Operator commands on `ctl.executor.*` and the one way the executor cancels everything.

`status` answers with each symbol's orders as the executor holds them (`orders.<symbol>`, see
`status.describe_orders`), whether it is reconciled with the venue, whether the watchdog has
tripped and any refused config field; `cancel-all` cancels at the venue (one request per symbol)
and says which symbols failed; `config-get` and `config-set` are `mm_runtime.config_ctl`'s, on
the executor's `LiveConfig` (`config_watch`).
`cancel_all_until_confirmed` is the automatic form (watchdog, fact store down): it repeats until
the venue lists no open orders.

`OperatorCommands` is handed what it reads (`CommandView`), not the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from executor.own_orders import OwnOrders
from executor.status import describe_orders
from executor.watchdog import Watchdog
from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError
from mm_proto import CancelAllRequest, CtlReply, Message, StatusRequest
from mm_runtime.bus import Bus
from mm_runtime.config_ctl import ConfigCommands
from mm_runtime.live_config import LiveConfig

_log = logging.getLogger("executor.commands")

# Cancel-all must fit inside the shutdown bound (10 s) even when the venue does not answer.
CANCEL_ALL_TIMEOUT_S = 4.0
CONFIRM_RETRY_MIN_S, CONFIRM_RETRY_MAX_S = 0.25, 5.0


async def cancel_all(
    api: BybitRestApi,
    category: str,
    symbols: list[str],
    reason: str,
    timeout_s: float = CANCEL_ALL_TIMEOUT_S,
) -> list[str]:
    """Cancel every open order of the symbols at the venue; returns the symbols that failed."""

    async def one(symbol: str) -> str | None:
        try:
            await api.cancel_all(category, symbol)
        except BybitError as error:
            _log.warning("cancel-all failed", extra={"symbol": symbol, "error": str(error)})
            return symbol
        return None

    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(one(symbol) for symbol in symbols)), timeout_s
        )
    except TimeoutError:
        _log.error("cancel-all timed out", extra={"symbols": symbols, "reason": reason})
        return list(symbols)
    failed = [symbol for symbol in results if symbol is not None]
    _log.info("cancelled all orders", extra={"reason": reason, "symbols": symbols})
    return failed


async def cancel_all_until_confirmed(
    api: BybitRestApi,
    category: str,
    symbols: list[str],
    reason: str,
    still_wanted: Callable[[], bool],
) -> bool:
    """Cancel-all, then ask the venue for open orders; repeat with backoff until it lists none
    for every symbol (True) or `still_wanted()` turns false (False)."""
    delay = CONFIRM_RETRY_MIN_S
    attempt = 0
    while still_wanted():
        attempt += 1
        await cancel_all(api, category, symbols, reason)
        remaining = await _open_symbols(api, category, symbols)
        if not remaining:
            _log.info("venue confirms no open orders", extra={"reason": reason, "tries": attempt})
            return True
        _log.warning(
            "cancel-all not confirmed; trying again",
            extra={"reason": reason, "attempt": attempt, "symbols": remaining, "delay_s": delay},
        )
        await asyncio.sleep(delay)
        delay = min(CONFIRM_RETRY_MAX_S, delay * 2)
    return False


async def _open_symbols(api: BybitRestApi, category: str, symbols: list[str]) -> list[str]:
    """The symbols the venue still lists open orders for (unknown counts as open)."""
    remaining = []
    for symbol in symbols:
        try:
            orders = await asyncio.wait_for(api.open_orders(category, symbol), CANCEL_ALL_TIMEOUT_S)
        except (BybitError, TimeoutError):
            remaining.append(symbol)
            continue
        if orders:
            remaining.append(symbol)
    return remaining


@dataclass(frozen=True)
class CommandView:
    """The pieces of the executor its commands read and use."""

    own_orders: Mapping[str, OwnOrders]
    synced: asyncio.Event
    watchdog: Watchdog
    live_config: LiveConfig[Any]
    store_down_reason: Callable[[], str | None]  # why facts cannot be stored now, or None
    api: Callable[[], BybitRestApi]  # the venue's REST API once connected
    category: str
    leases: Callable[[], dict[str, object]] = dict  # lease mode: per symbol holder and epoch


class OperatorCommands:
    """The executor's answers on its ctl subjects."""

    def __init__(self, view: CommandView, bus: Bus) -> None:
        self.view = view
        self._config = ConfigCommands(view.live_config, bus)

    async def dispatch(self, request: Message) -> CtlReply:
        """Act on a decoded command (mm_runtime.control decodes, rate-limits and replies)."""
        if isinstance(request, StatusRequest):
            return self._status()
        if isinstance(request, CancelAllRequest):
            return await self._cancel_all(request)
        return await self._config.answer(request)

    def _status(self) -> CtlReply:
        view = self.view
        data = describe_orders(view.own_orders)
        data["synced"] = str(view.synced.is_set()).lower()
        data["watchdog_tripped"] = str(view.watchdog.tripped).lower()
        data.update(view.live_config.status())
        data["fact_store"] = view.store_down_reason() or "ok"
        leases = view.leases()
        if leases:  # lease mode: per symbol who holds it, the epoch, why not us
            data["leases"] = json.dumps(leases)
        return CtlReply(ok=True, message="ok", data=data)

    async def _cancel_all(self, request: CancelAllRequest) -> CtlReply:
        view = self.view
        known = sorted(view.own_orders)
        if request.symbol and request.symbol not in known:
            return CtlReply(
                ok=False, message=f"symbol must be one of {known}, was {request.symbol!r}"
            )
        symbols = [request.symbol] if request.symbol else list(view.own_orders)
        failed = await cancel_all(view.api(), view.category, symbols, "operator")
        return CtlReply(ok=not failed, message=f"failed: {failed}" if failed else "cancelled")

"""The instruments the gateway carries, read from the venue's instruments-info, at start and after.

Tick and lot sizes are never hard-coded: they come from the venue, and a symbol the venue does not
list stops the start with a clear error. A venue that is not up yet (the simulator starting beside
us) is retried with backoff until `start_timeout_s`. Afterwards `InstrumentRefresh` reads them
again every `instrument_interval_s`, so a status change at the venue (Trading -> Delivering)
reaches every service through the KV `instruments` bucket and `md.instrument.*`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from prometheus_client import Counter

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.convert import ConversionError, instrument_definition
from mm_bybit.errors import BybitError
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_proto import InstrumentDefinition

_log = logging.getLogger("md_gateway.instruments")

# The status given to a symbol the venue's instruments-info stops returning: not "Trading", so
# every service treats it as closed.
NOT_LISTED = "NotListed"


async def load_definitions(
    rest_url: str, category: str, symbols: list[str], timeout_s: float
) -> dict[str, InstrumentDefinition]:
    """The definitions of `symbols`; LookupError for unknown ones, TimeoutError if unreachable."""
    deadline = time.monotonic() + timeout_s
    backoff = Backoff(base_s=0.2, cap_s=2.0)
    async with RestClient(rest_url) as rest:
        api = BybitRestApi(rest)
        while True:
            try:
                return await load_instruments(api, category, symbols)
            except BybitError as error:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected instruments-info from {rest_url} within {timeout_s}s, "
                        f"last error: {error}"
                    ) from None
                delay = min(remaining, max(0.05, backoff.next_delay()))
                _log.warning(
                    "instruments not loaded yet", extra={"error": str(error), "retry_in_s": delay}
                )
                await asyncio.sleep(delay)


async def read_definitions(
    rest_url: str, known: dict[str, InstrumentDefinition]
) -> dict[str, InstrumentDefinition]:
    """The venue's definitions of the `known` symbols now, one instruments-info read each.

    A symbol the venue no longer returns (Bybit lists only Trading symbols by default) comes back
    with its last grid and status `NOT_LISTED`; one whose row no longer converts is left out.
    Raises BybitError when the venue cannot be read.
    """
    fresh: dict[str, InstrumentDefinition] = {}
    async with RestClient(rest_url) as rest:
        api = BybitRestApi(rest)
        for symbol, definition in known.items():
            items = await api.instruments(definition.category, symbol)
            row = next((item for item in items if item.symbol == symbol), None)
            if row is None:
                fresh[symbol] = msgspec.structs.replace(definition, status=NOT_LISTED)
                continue
            try:
                fresh[symbol] = instrument_definition(row, definition.category)
            except ConversionError as error:
                _log.warning(
                    "unusable instrument row", extra={"symbol": symbol, "error": str(error)}
                )
    return fresh


class InstrumentRefresh:
    """Re-reads the venue's definitions when due; stores and publishes what changed.

    Driven by the gateway's watch loop (`due`), one read at a time, in a task whose end the next
    `due` or `stop` observes. A venue that cannot be read keeps the definitions in force (logged,
    counted in `md_gateway_instrument_reads_total{result="failed"}`);
    a changed status or minimum is applied, stored in KV and published; a changed tick or lot size
    is not (the books hold prices and sizes in the old units): it is logged as needing a restart.
    Every definition is published again after each read, changed or not.
    """

    def __init__(
        self,
        rest_url: str,
        definitions: dict[str, InstrumentDefinition],
        store: Callable[[InstrumentDefinition], Awaitable[None]],
        publish: Callable[[InstrumentDefinition], None],
        reads: Counter,
        timeout_s: float,
    ) -> None:
        self._rest_url = rest_url
        self.definitions = definitions  # shared with the gateway, updated in place
        self._store, self._publish = store, publish
        self._reads = reads  # by result: ok, failed
        self._timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None

    def due(self) -> None:
        """Start a read unless one is still running; report how the last one ended."""
        if self._task is not None:
            if not self._task.done():
                return
            self._observe(self._task)
        self._task = asyncio.create_task(self.refresh(), name="md_gateway-instrument-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def refresh(self) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                fresh = await read_definitions(self._rest_url, self.definitions)
        except (BybitError, TimeoutError) as error:
            self._reads.labels("failed").inc()
            _log.warning(
                "instruments not refreshed, keeping those in force", extra={"error": str(error)}
            )
            fresh = {}
        else:
            self._reads.labels("ok").inc()
        for definition in fresh.values():
            if self._take(definition):
                await self._store(definition)
        for definition in self.definitions.values():
            self._publish(definition)

    def _take(self, definition: InstrumentDefinition) -> bool:
        known = self.definitions[definition.symbol]
        if definition == known:
            return False
        if (definition.tick_size, definition.lot_size) != (known.tick_size, known.lot_size):
            _log.error(
                "the venue changed the tick or lot size: restart md_gateway to apply it",
                extra={
                    "symbol": definition.symbol,
                    "tick_size": definition.tick_size,
                    "lot_size": definition.lot_size,
                },
            )
            return False
        _log.info(
            "instrument changed at the venue",
            extra={"symbol": definition.symbol, "status": definition.status, "was": known.status},
        )
        self.definitions[definition.symbol] = definition
        return True

    @staticmethod
    def _observe(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            _log.error(
                "instrument refresh failed", exc_info=(type(error), error, error.__traceback__)
            )

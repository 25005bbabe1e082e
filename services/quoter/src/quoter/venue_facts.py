"""The venue's facts the quoter prices from, as stored in KV: instrument grids and account fees.

md_gateway stores each symbol's InstrumentDefinition in the `instruments` bucket and the executor
stores the account's FeeSchedule in the `fees` bucket; both are followed from the start, so a
quoter started after them has its grid and its real maker fee at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.msg import Msg
from opentelemetry.context import Context

from mm_proto import DecodeError, FeeSchedule, InstrumentDefinition, decode
from quoter.metrics import QuoterMetrics

_log = logging.getLogger("quoter.venue_facts")

ApplyDefinition = Callable[[InstrumentDefinition, Context, Msg | None], Awaitable[None]]
EntryT = TypeVar("EntryT")


class VenueFacts:
    """Decodes stored definitions and fee schedules and hands them to the quoter."""

    def __init__(
        self,
        maker_fee_rates: dict[str, float],
        apply_definition: ApplyDefinition,
        apply_fee: Callable[[str], Awaitable[None]],
        metrics: Callable[[], QuoterMetrics],
    ) -> None:
        self.maker_fee_rates = maker_fee_rates  # shared with the service, updated in place
        self._apply_definition = apply_definition
        self._apply_fee = apply_fee
        self._metrics = metrics

    async def on_stored_instrument(self, key: str, raw: bytes | None) -> None:
        """The gateway's stored definition: known at start even if md.instrument went earlier."""
        definition = self._decode(key, raw, InstrumentDefinition, "instrument")
        if definition is not None:
            await self._apply_definition(definition, Context(), None)

    async def on_fee_schedule(self, key: str, raw: bytes | None) -> None:
        """The account's real fee rates from the venue replace the configured default."""
        fees = self._decode(key, raw, FeeSchedule, "fees")
        if fees is None or fees.symbol not in self.maker_fee_rates:
            return
        self.maker_fee_rates[fees.symbol] = float(fees.maker_fee_rate)
        _log.info(
            "maker fee from the venue", extra={"symbol": fees.symbol, "rate": fees.maker_fee_rate}
        )
        await self._apply_fee(fees.symbol)

    def _decode(self, key: str, raw: bytes | None, kind: type[EntryT], name: str) -> EntryT | None:
        if raw is None:
            return None
        try:
            return decode(raw, kind)
        except DecodeError as error:
            self._metrics().dropped.labels(name, "undecodable").inc()
            _log.warning("dropped stored entry", extra={"key": key, "error": str(error)})
            return None

"""The venue's facts the quoter prices from, as stored in KV: instrument grids and account fees.

md_gateway stores each symbol's InstrumentDefinition in the `instruments` bucket and the executor
stores the account's FeeSchedule in the `fees` bucket; both are followed from the start, so a
quoter started after them has its grid and its real maker fee at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from opentelemetry.context import Context

from mm_proto import FeeSchedule, InstrumentDefinition

_log = logging.getLogger("quoter.venue_facts")

ApplyDefinition = Callable[[InstrumentDefinition, Context, Msg | None], Awaitable[None]]


class VenueFacts:
    """Hands stored definitions and fee schedules (decoded by their followers) to the quoter."""

    def __init__(
        self,
        maker_fee_rates: dict[str, float],
        apply_definition: ApplyDefinition,
        apply_fee: Callable[[str], Awaitable[None]],
    ) -> None:
        self.maker_fee_rates = maker_fee_rates  # shared with the service, updated in place
        self._apply_definition = apply_definition
        self._apply_fee = apply_fee

    async def on_stored_instrument(
        self, _key: str, definition: InstrumentDefinition | None
    ) -> None:
        """The gateway's stored definition: known at start even if md.instrument went earlier."""
        if definition is not None:
            await self._apply_definition(definition, Context(), None)

    async def on_fee_schedule(self, _key: str, fees: FeeSchedule | None) -> None:
        """The account's real fee rates from the venue replace the configured default."""
        if fees is None or fees.symbol not in self.maker_fee_rates:
            return
        self.maker_fee_rates[fees.symbol] = float(fees.maker_fee_rate)
        _log.info(
            "maker fee from the venue", extra={"symbol": fees.symbol, "rate": fees.maker_fee_rate}
        )
        await self._apply_fee(fees.symbol)

"""The account's fees the quoter prices from, as the executor stores them in KV `fees`.

The executor stores each symbol's FeeSchedule (read from the venue) in the `fees` bucket; it is
followed from the start, so a quoter started after the executor has its real maker fee at once.
A rate outside +/-1% of notional is not a fee schedule any venue has: it is logged and dropped,
and the rate in force stays. Grids come from the instrument follower (`mm_runtime.instruments`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from mm_proto import FeeSchedule

_log = logging.getLogger("quoter.venue_facts")

MAX_FEE_RATE = 0.01  # a maker fee (or rebate) is a fraction of notional well under 1%


class VenueFacts:
    """Hands stored fee schedules (decoded by their follower) to the quoter."""

    def __init__(
        self,
        maker_fee_rates: dict[str, float],
        apply_fee: Callable[[str], Awaitable[None]],
    ) -> None:
        self.maker_fee_rates = maker_fee_rates  # shared with the service, updated in place
        self._apply_fee = apply_fee

    async def on_fee_schedule(self, _key: str, fees: FeeSchedule | None) -> None:
        """The account's real fee rates from the venue replace the configured default."""
        if fees is None or fees.symbol not in self.maker_fee_rates:
            return
        rate = float(fees.maker_fee_rate)
        if not abs(rate) < MAX_FEE_RATE:
            _log.warning(
                "dropped an absurd maker fee, keeping the rate in force",
                extra={"symbol": fees.symbol, "rate": fees.maker_fee_rate},
            )
            return
        self.maker_fee_rates[fees.symbol] = rate
        _log.info(
            "maker fee from the venue", extra={"symbol": fees.symbol, "rate": fees.maker_fee_rate}
        )
        await self._apply_fee(fees.symbol)

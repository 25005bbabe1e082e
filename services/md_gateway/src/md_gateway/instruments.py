"""The instruments the gateway carries, loaded from the venue's instruments-info at start.

Tick and lot sizes are never hard-coded: they come from the venue, and a symbol the venue does not
list stops the start with a clear error. A venue that is not up yet (the simulator starting beside
us) is retried with backoff until `start_timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mm_bybit.api import BybitRestApi
from mm_bybit.backoff import Backoff
from mm_bybit.errors import BybitError
from mm_bybit.instruments import load_instruments
from mm_bybit.rest import RestClient
from mm_proto import InstrumentDefinition

_log = logging.getLogger("md_gateway.instruments")


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

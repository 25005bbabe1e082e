"""The account's fee rates, read from the venue at start and stored for the quoter.

Only the executor holds the account's keys, so it is the one that asks the venue what this
account pays (or earns) per symbol; the quoter prices its spread floor from what is stored here.
A venue that does not answer leaves the quoter on its configured default, logged and counted.
"""

from __future__ import annotations

import logging
import time

from nats.js import JetStreamContext

from mm_bybit.api import BybitRestApi
from mm_bybit.errors import BybitError
from mm_bybit.instruments import load_fee_rates
from mm_proto import FeeSchedule
from mm_runtime.jetstream import store_fee_schedule

_log = logging.getLogger("executor.fees")


async def store_account_fees(
    api: BybitRestApi, jetstream: JetStreamContext, venue: str, category: str, symbols: list[str]
) -> int:
    """Store one FeeSchedule per symbol; returns how many were stored (0 when the venue failed)."""
    try:
        rates = await load_fee_rates(api, category, symbols)
    except (BybitError, LookupError) as error:
        _log.warning("fee rates unavailable; quoter keeps its default", extra={"error": str(error)})
        return 0
    now = time.time_ns()
    for symbol, rate in rates.items():
        schedule = FeeSchedule(
            venue=venue,
            category=category,
            symbol=symbol,
            maker_fee_rate=str(rate.maker_fee_rate),
            taker_fee_rate=str(rate.taker_fee_rate),
            ts_loaded_ns=now,
        )
        await store_fee_schedule(jetstream, schedule)
        _log.info("account fee rates", extra={"symbol": symbol, "maker": schedule.maker_fee_rate})
    return len(rates)

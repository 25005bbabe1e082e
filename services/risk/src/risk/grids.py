"""Where risk's instrument grids come from: settings, or the venue's definitions via md_gateway.

An explicit grid in settings wins. For every other symbol risk reads the definition md_gateway
stored in the KV `instruments` bucket, and also listens to `md.instrument.*` while it waits, so it
starts as soon as either has the symbol; past `instrument_wait_s` it refuses to start, naming the
symbols it has no grid for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.context import Context

from mm_proto import InstrumentDefinition, subjects
from mm_runtime.bus import Bus
from mm_runtime.jetstream import load_instruments
from risk.ladder import Instrument
from risk.settings import RiskSettings

_log = logging.getLogger("risk.grids")
_POLL_S = 0.5


async def load_grids(
    bus: Bus, js: JetStreamContext, settings: RiskSettings
) -> tuple[dict[str, Instrument], dict[str, str]]:
    """Each guarded symbol's grid and quote coin, or RuntimeError naming those without one."""
    instruments: dict[str, Instrument] = {}
    quote_coins: dict[str, str] = {}
    for symbol, grid in settings.instruments.items():
        instruments[symbol] = Instrument(symbol, grid.tick_size, grid.lot_size)
        quote_coins[symbol] = grid.quote_coin
    published: dict[str, InstrumentDefinition] = {}

    async def on_definition(definition: InstrumentDefinition, _context: Context, _msg: Msg) -> None:
        published[definition.symbol] = definition

    pattern = subjects.instrument_pattern(settings.venue, settings.category)
    subscription = await bus.subscribe(pattern, InstrumentDefinition, on_definition)
    try:
        deadline = time.monotonic() + settings.instrument_wait_s
        while missing := [s for s in settings.all_symbols if s not in instruments]:
            found = await load_instruments(js, settings.venue, settings.category, missing)
            found.update({s: published[s] for s in missing if s in published})
            for symbol, definition in found.items():
                tick, lot = Decimal(definition.tick_size), Decimal(definition.lot_size)
                instruments[symbol] = Instrument(symbol, tick, lot)
                quote_coins[symbol] = definition.quote_coin
            if len(found) == len(missing):
                break
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"no instrument definition for {sorted(set(missing) - set(found))} after "
                    f"{settings.instrument_wait_s}s: is md_gateway running for these symbols?"
                )
            _log.info("waiting for instrument definitions", extra={"missing": missing})
            await asyncio.sleep(_POLL_S)
    finally:
        await subscription.unsubscribe()
    return instruments, quote_coins

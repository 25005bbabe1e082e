"""Where the ledger's instrument grids come from: the definitions md_gateway stores in KV.

Waits up to `instrument_wait_s` for every booked symbol, listening to `md.instrument.*` too, and
refuses to start naming the symbols it has no definition for.
"""

from __future__ import annotations

import asyncio
import time

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.context import Context

from ledger.settings import LedgerSettings
from mm_proto import InstrumentDefinition, subjects
from mm_runtime.bus import Bus
from mm_runtime.jetstream import load_instruments

_POLL_S = 0.5


async def wait_for_instruments(
    bus: Bus, js: JetStreamContext, settings: LedgerSettings
) -> list[InstrumentDefinition]:
    """Every booked symbol's definition, or RuntimeError naming those still missing."""
    published: dict[str, InstrumentDefinition] = {}

    async def on_definition(definition: InstrumentDefinition, _context: Context, _msg: Msg) -> None:
        published[definition.symbol] = definition

    pattern = subjects.instrument_pattern(settings.venue, settings.category)
    subscription = await bus.subscribe(pattern, InstrumentDefinition, on_definition)
    found: dict[str, InstrumentDefinition] = {}
    try:
        deadline = time.monotonic() + settings.instrument_wait_s
        while missing := [s for s in settings.symbols if s not in found]:
            found.update(await load_instruments(js, settings.venue, settings.category, missing))
            found.update({s: published[s] for s in missing if s in published})
            if len(found) == len(settings.symbols):
                break
            if time.monotonic() >= deadline:
                absent = sorted(set(settings.symbols) - set(found))
                raise RuntimeError(
                    f"no instrument definition for {absent} after {settings.instrument_wait_s}s: "
                    "is md_gateway running for these symbols?"
                )
            await asyncio.sleep(_POLL_S)
    finally:
        await subscription.unsubscribe()
    return [found[symbol] for symbol in settings.symbols]

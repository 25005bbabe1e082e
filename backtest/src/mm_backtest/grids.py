"""Each instrument's grid in the forms the production cores take, from the one configuration.

The parameters name each instrument the way the simulator does (`InstrumentConfig`); the
gateway's book, the planner and the ledger take the bus contract's `InstrumentDefinition`, the
quoter and risk its `Grid`. This is the only module that converts between them.
"""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid, InstrumentDefinition
from mm_sim.settings import InstrumentConfig

VENUE = "bybit"


def definition(config: InstrumentConfig) -> InstrumentDefinition:
    """The venue's definition of an instrument, as md_gateway would publish it."""
    step = config.qty_step
    return InstrumentDefinition(
        venue=VENUE,
        category=config.category,
        symbol=config.symbol,
        base_coin=config.base_coin,
        quote_coin=config.quote_coin,
        status="Trading",
        tick_size=_text(config.tick_size),
        lot_size=_text(step),
        min_qty_lots=int(config.min_order_qty / step),
        max_qty_lots=int(config.max_order_qty / step),
        min_notional=_text(config.min_notional_value),
    )


def grid(definition: InstrumentDefinition) -> Grid:
    """The one grid type the quoter and risk compute with (`mm_proto.Grid`)."""
    return definition.grid()


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")

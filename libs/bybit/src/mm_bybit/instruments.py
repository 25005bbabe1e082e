"""Loaded from the venue at start, never hard-coded: instrument definitions and own fee rates."""

from __future__ import annotations

import logging

import msgspec

from mm_bybit.api import BybitRestApi
from mm_bybit.convert import ConversionError, instrument_definition
from mm_proto import InstrumentDefinition

log = logging.getLogger(__name__)


class FeeRates(msgspec.Struct, frozen=True, kw_only=True):
    """The account's maker and taker rates for one symbol, as decimal strings (negative: rebate)."""

    symbol: str
    maker_fee_rate: str
    taker_fee_rate: str


class VenueReference(msgspec.Struct, frozen=True, kw_only=True):
    """Instruments and fee rates of one category, keyed by symbol."""

    category: str
    instruments: dict[str, InstrumentDefinition]
    fee_rates: dict[str, FeeRates]


async def load_instruments(
    api: BybitRestApi, category: str, symbols: list[str] | None = None
) -> dict[str, InstrumentDefinition]:
    """Every instrument of `category` (all pages), or just `symbols`; refuse unknown symbols."""
    raw_items = await api.instruments(category)
    wanted = set(symbols) if symbols is not None else None
    definitions: dict[str, InstrumentDefinition] = {}
    for item in raw_items:
        if wanted is not None and item.symbol not in wanted:
            continue
        try:
            definitions[item.symbol] = instrument_definition(item, category)
        except ConversionError:
            if wanted is not None:
                raise
            log.warning("skipped instrument %s: unusable definition", item.symbol, exc_info=True)
    missing = sorted((wanted or set()) - set(definitions))
    if missing:
        raise LookupError(f"expected {category} instruments {missing} on the venue, found none")
    return definitions


async def load_fee_rates(
    api: BybitRestApi, category: str, symbols: list[str] | None = None
) -> dict[str, FeeRates]:
    """The account's rates as the venue reports them; never guessed from a tier table."""
    items = (
        await api.fee_rates(category)
        if symbols is None
        else [item for symbol in symbols for item in await api.fee_rates(category, symbol)]
    )
    rates = {
        item.symbol: FeeRates(
            symbol=item.symbol,
            maker_fee_rate=item.maker_fee_rate,
            taker_fee_rate=item.taker_fee_rate,
        )
        for item in items
    }
    missing = sorted(set(symbols or ()) - set(rates))
    if missing:
        raise LookupError(f"expected fee rates for {missing} from the venue, received none")
    return rates


async def load_reference(api: BybitRestApi, category: str, symbols: list[str]) -> VenueReference:
    """Instruments and fee rates for the symbols a service trades, loaded at start."""
    return VenueReference(
        category=category,
        instruments=await load_instruments(api, category, symbols),
        fee_rates=await load_fee_rates(api, category, symbols),
    )

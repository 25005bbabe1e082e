"""What the quoter wants resting on the book: a ladder of price levels per side, and how many
orders a change of one side asks to move."""

from collections.abc import Iterable
from typing import Protocol

import msgspec

from mm_proto.message import (
    DEFAULT_COLOR,
    Color,
    Message,
    PriceTicks,
    SizeLots,
    TimestampNs,
    UpdateId,
)


class QuoteLevel(msgspec.Struct, frozen=True, kw_only=True):
    """One rung of a ladder: a price and the size wanted there (not a message on its own)."""

    price_ticks: PriceTicks
    size_lots: SizeLots


class QuoteIntent(Message, frozen=True, kw_only=True, tag="quote_intent"):
    """The quoter's wanted ladders for one symbol, best level first; both empty: pull quotes."""

    venue: str
    category: str
    symbol: str
    bids: list[QuoteLevel]
    asks: list[QuoteLevel]
    source_update_id: UpdateId  # the book update this was computed from
    intent_id: str
    ts_source_ns: TimestampNs  # the source tick's exchange time, for tick-to-quote latency
    ts_intent_ns: TimestampNs
    reason: str = ""  # why quotes were pulled or reshaped, e.g. "stale book"
    # When md_gateway received the venue frame this descends from (0: unknown): tick-to-X latency.
    ts_tick_ns: TimestampNs = 0
    # The parameter set that computed these ladders (the quoter's `color` param); risk copies it
    # onto OrderTarget.color, the executor into each orderLinkId.
    color: Color = DEFAULT_COLOR


class Rung(Protocol):
    """A level of a ladder in any of its forms (`QuoteLevel`, risk's and the quoter's levels)."""

    @property
    def price_ticks(self) -> int: ...

    @property
    def size_lots(self) -> int: ...


def level_changes(before: Iterable[Rung], after: Iterable[Rung]) -> int:
    """The orders turning one side from `before` into `after` asks to place, cancel or amend: the
    levels added or the levels removed, whichever are more (a moved level is one amend).

    Risk budgets venue actions with it and the executor counts the changes it was asked for, so
    both count the same way."""
    old = {(level.price_ticks, level.size_lots) for level in before}
    new = {(level.price_ticks, level.size_lots) for level in after}
    return max(len(new - old), len(old - new))

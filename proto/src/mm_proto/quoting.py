"""What the quoter wants resting on the book: a ladder of price levels per side, the lots of each
level, and how many orders a change of one side asks to move.

`QuoteLevel` is the one level type from the quoter's strategy through risk's cuts to the
executor's plan; `Ladder` holds both sides of one in memory (the quoter's computed ladder, risk's
target), and `QuoteIntent`/`OrderTarget` carry its sides on the bus.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
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


@dataclass(frozen=True, slots=True)
class Ladder:
    """Both sides of a ladder, best level first (highest bid, lowest ask); an empty side: no
    orders there. Not a message: `QuoteIntent` and `OrderTarget` carry the sides as lists."""

    bids: tuple[QuoteLevel, ...] = ()
    asks: tuple[QuoteLevel, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.bids and not self.asks

    @property
    def bid_lots(self) -> int:
        return sum(level.size_lots for level in self.bids)

    @property
    def ask_lots(self) -> int:
        return sum(level.size_lots for level in self.asks)

    @property
    def order_count(self) -> int:
        return len(self.bids) + len(self.asks)


EMPTY_LADDER = Ladder()


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


def level_changes(before: Iterable[QuoteLevel], after: Iterable[QuoteLevel]) -> int:
    """The orders turning one side from `before` into `after` asks to place, cancel or amend: the
    levels added or the levels removed, whichever are more (a moved level is one amend).

    Risk budgets venue actions with it and the executor counts the changes it was asked for, so
    both count the same way."""
    old = {(level.price_ticks, level.size_lots) for level in before}
    new = {(level.price_ticks, level.size_lots) for level in after}
    return max(len(new - old), len(old - new))


class Sides(Protocol):
    """Both sides of a ladder in either form: `Ladder`, or a message carrying one."""

    @property
    def bids(self) -> Sequence[QuoteLevel]: ...

    @property
    def asks(self) -> Sequence[QuoteLevel]: ...


def ladder_changes(before: Sides | None, after: Sides) -> int:
    """The orders turning ladder `before` (None: nothing resting) into `after` asks to place,
    cancel or amend, both sides: risk's action budget and the executor's count of changes."""
    old = before if before is not None else EMPTY_LADDER
    return level_changes(old.bids, after.bids) + level_changes(old.asks, after.asks)


def level_sizes(level_size_lots: int, levels: int, multiplier: float) -> list[int]:
    """Whole lots of each level of one side: `level_size_lots * multiplier^i`, rounded down (the
    quoter's schedule; the policy sizes its budgets by the same one)."""
    return [whole_lots(level_size_lots * multiplier**index) for index in range(levels)]


def whole_lots(lots: float) -> int:
    """A scheduled size in lots, rounded down to whole lots.

    The float is read at 12 significant digits, the params' own precision, so float noise such as
    2.9999999999999996 counts as the 3 it stands for.
    """
    return int(Decimal(f"{lots:.12g}").to_integral_value(rounding=ROUND_FLOOR))

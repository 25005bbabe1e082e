"""The ledger's inputs as stored on the bus: a stream message decoded to a keyed input, applied.

Two streams feed the core: MARKS (`md.mark.*` BookTops, a mark per mid change plus a heartbeat)
and EXEC (fills, funding settlements, order events). `decode_input` turns one stored message into
`(symbol, merge key, message)`, or says why it is skipped; `apply_input` hands a message to the
core. The service (`ledger.input_feed`) and a reference replay of both streams use the same two
functions, which is what makes their figures comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.core import Ledger
from ledger.merge import FACT, MARK
from ledger.resume import MergeKey
from mm_proto import (
    BookTop,
    DecodeError,
    Fill,
    FundingSettlement,
    OrderEvent,
    decode,
    subjects,
)

FAMILIES = {"mark": MARK, "exec_fill": FACT, "exec_funding": FACT, "exec_order": FACT}
Input = BookTop | Fill | FundingSettlement | OrderEvent


@dataclass(frozen=True)
class Decoded:
    """A stored message: its family, and either the input or why it is not one of ours."""

    family: str
    symbol: str = ""
    key: MergeKey = (0, 0, 0)
    message: Input | None = None
    skipped: str = ""  # "unknown", "skipped" (not ours) or "terminated" (undecodable)
    error: str = ""


def decode_input(
    subject: str, data: bytes, sequence: int, venue: str, category: str, symbols: set[str]
) -> Decoded:
    """One message of MARKS or EXEC as a keyed input of this ledger."""
    try:
        parsed = subjects.parse(subject)
    except ValueError as error:
        return Decoded("unknown", skipped="terminated", error=str(error))
    kind = FAMILIES.get(parsed.family)
    ours = (parsed.venue, parsed.category) == (venue, category) and parsed.symbol in symbols
    if kind is None or not ours:
        return Decoded(parsed.family, skipped="skipped")
    try:
        message = decode(data, parsed.message_type)
    except DecodeError as error:
        return Decoded(parsed.family, skipped="terminated", error=str(error))
    if message.symbol != parsed.symbol:
        error_text = f"symbol {message.symbol!r} on subject {subject!r}"
        return Decoded(parsed.family, skipped="terminated", error=error_text)
    return Decoded(parsed.family, parsed.symbol, (_venue_time(message), kind, sequence), message)


def _venue_time(message: Input) -> int:
    if isinstance(message, BookTop | Fill | FundingSettlement):
        return message.ts_exchange_ns
    return message.ts_event_ns


def apply_input(ledger: Ledger, message: Input) -> bool:
    """Apply one input; False when the core counted it as a repeat (a fill or funding id)."""
    if isinstance(message, BookTop):
        ledger.on_top(message)
        return True
    if isinstance(message, Fill):
        return ledger.on_fill(message)
    if isinstance(message, FundingSettlement):
        return ledger.on_funding(message)
    ledger.on_order(message)
    return True

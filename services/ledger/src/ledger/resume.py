"""The state a restarted ledger resumes from beyond its figures, carried on each `all` KPI row.

The KPI figures give positions and running totals; going on exactly as if never stopped also
needs what was in flight at the flush: the orders resting at the venue, the fills waiting for
their markout horizons, the mid and the venue time the quoting figures were accounted up to, the
drawdown peak, and where the ledger stood in its two input streams. A stream's `StreamCut` says
which messages the flush includes: every sequence below `restart`, plus those up to `delivered`
whose merge key is at or below the symbol's `last_key` (the merge applies a symbol's inputs in
key order, so the ones above it were still held). The row's color owns its orders, markouts and
peak; the symbol-wide part is repeated on every color's row.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ledger.markouts import PendingMarkout
from ledger.quoting import RestingOrder
from ledger.symbol_books import SymbolBook
from mm_proto import Side

MergeKey = tuple[int, int, int]  # (venue time ns, 0 for a mark / 1 for an EXEC fact, sequence)


class StreamCut(msgspec.Struct, frozen=True):
    restart: int = 1  # the first sequence the flush does not wholly include
    delivered: int = 0  # the last sequence delivered before the flush


class ResumeState(msgspec.Struct, frozen=True):
    exec_cut: StreamCut
    marks_cut: StreamCut
    last_key: MergeKey = (0, 0, 0)
    mid2: int = 0
    mark_ts_ns: int = 0
    clock_ns: int = 0
    peak: str | None = None
    orders: list[tuple[str, str, int, int, int]] = []  # id, side, price, leaves, accepted
    markouts: list[tuple[int, str, str, int, int, str, int]] = []  # PendingMarkout's fields
    unmarked: list[tuple[str, int, int]] = []  # side, signed lots, price


class Cuts(msgspec.Struct):
    """Where the merge stands at a flush: both streams' cuts and each symbol's last key."""

    exec_cut: StreamCut = StreamCut()
    marks_cut: StreamCut = StreamCut()
    last_keys: dict[str, MergeKey] = {}


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ResumeState)


def encode_state(book: SymbolBook, color: str, cuts: Cuts) -> str:
    """The resume state of one (symbol, color) at a flush, as JSON."""
    peak = book.peaks.get(color)
    state = ResumeState(
        exec_cut=cuts.exec_cut,
        marks_cut=cuts.marks_cut,
        last_key=cuts.last_keys.get(book.instrument.symbol, (0, 0, 0)),
        mid2=book.mid2 or 0,
        mark_ts_ns=book.mids.latest_ts_ns,
        clock_ns=book.clock_ns,
        peak=None if peak is None else str(peak),
        orders=[
            (key, o.side.value, o.price_ticks, o.leaves_lots, o.ts_accepted_ns)
            for key, o in book.orders.items()
            if o.color == color
        ],
        markouts=[
            (p.due_ns, p.horizon, p.side, p.signed_lots, p.price2, str(p.fee), p.notional_units)
            for p in book.markouts.pending()
            if p.color == color
        ],
        unmarked=[(s, q, p) for s, c, q, p in book.pending_unmarked if c == color],
    )
    return _encoder.encode(state).decode()


def decode_state(text: str) -> ResumeState | None:
    """The state a row carries; None for a row written before resume states existed."""
    if not text:
        return None
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError as error:
        raise ValueError(f"unreadable resume state: {error}") from error


def apply_state(book: SymbolBook, color: str, state: ResumeState) -> None:
    """Put one (symbol, color)'s in-flight state back into a freshly opened book."""
    if state.mid2:
        book.mid2 = state.mid2
        book.mids.record(state.mark_ts_ns, state.mid2)
    book.clock_ns = max(book.clock_ns, state.clock_ns)
    if state.peak is not None:
        book.peaks[color] = Decimal(state.peak)
    for key, side, price, leaves, accepted in state.orders:
        book.orders[key] = RestingOrder(Side(side), price, leaves, color, accepted)
    for due, horizon, side, signed, price2, fee, notional in state.markouts:
        book.markouts.add(
            PendingMarkout(due, horizon, side, color, signed, price2, Decimal(fee), notional)
        )
    book.markouts.sort()
    book.pending_unmarked.extend((side, color, q, p) for side, q, p in state.unmarked)

"""Orders on an old book, judged by the venue's own order history rather than by bus events.

The bus carries the executor's order events, and while the bus cannot store a fact (a frozen or
leaderless EXEC stream) the executor holds them back: a cancel it made at the venue reaches a
listener only once the bus is back. So the old-book judgement of a drill reads, after the fact,
when each order reached and left the book from the venue itself (`/v5/order/history`:
`createdTime`, and `updatedTime` of an order no longer open), and intersects those lifetimes with
the spans in which the quote watch saw a symbol's book older than the bound (`QuoteWatch
.old_book_spans`, wall clock: the simulator runs on this machine's clock).

An order amended keeps its lifetime (it stays on the book); a rejected one has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_bybit.raw import Order

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})

Span = tuple[float, float]


@dataclass(frozen=True)
class OldBookExposure:
    """The longest stretch in which orders of `symbol` rested at the venue on an old book."""

    symbol: str
    started_s: float  # wall clock
    seconds: float
    orders: int  # how many orders' lifetimes it touched


def lifetimes(orders: list[Order], now_s: float) -> dict[str, list[Span]]:
    """Per symbol, each order's [reached the book, left it] in wall-clock seconds; one still open
    lasts until `now_s`."""
    spans: dict[str, list[Span]] = {}
    for order in orders:
        created = int(order.created_time or 0) / 1000
        if not created:
            continue
        if order.order_status in OPEN_STATUSES:
            left = now_s
        else:
            left = int(order.updated_time or order.created_time) / 1000
        if left > created:
            spans.setdefault(order.symbol, []).append((created, left))
    return spans


def _merge(spans: list[Span]) -> list[tuple[float, float, int]]:
    """Overlapping spans joined, each with the number of spans it joined."""
    merged: list[tuple[float, float, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            first, last, count = merged[-1]
            merged[-1] = (first, max(last, end), count + 1)
        else:
            merged.append((start, end, 1))
    return merged


def longest_old_book(
    live: dict[str, list[Span]], old_books: dict[str, list[Span]], since_s: float
) -> OldBookExposure | None:
    """The longest time, from `since_s` on, that a symbol had an order at the venue while its
    book was older than the bound; None when that never happened."""
    longest: OldBookExposure | None = None
    for symbol, old_spans in old_books.items():
        resting = _merge(live.get(symbol, []))
        for old_from, old_to in old_spans:
            for rest_from, rest_to, count in resting:
                start, end = max(old_from, rest_from, since_s), min(old_to, rest_to)
                if end > start and (longest is None or end - start > longest.seconds):
                    longest = OldBookExposure(symbol, start, end - start, count)
    return longest

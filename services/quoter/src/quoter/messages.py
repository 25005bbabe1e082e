"""Translation between bus messages and the strategy's plain values (no I/O)."""

from __future__ import annotations

from mm_proto import (
    DEFAULT_COLOR,
    BookTop,
    QuoteIntent,
)
from quoter.fair_value import Touch
from quoter.strategy import Decision


def touch_from_book(book: BookTop) -> Touch:
    """The touch a BookTop describes (empty sides become 0 prices, which the strategy refuses)."""
    return Touch(
        bid_price_ticks=book.bid_price_ticks,
        bid_size_lots=book.bid_size_lots,
        ask_price_ticks=book.ask_price_ticks,
        ask_size_lots=book.ask_size_lots,
        update_id=book.update_id,
        ts_ns=book.ts_exchange_ns,
    )


def intent_from_decision(
    decision: Decision,
    venue: str,
    category: str,
    symbol: str,
    intent_id: str,
    ts_source_ns: int,
    now_ns: int,
    ts_tick_ns: int = 0,
    color: str = DEFAULT_COLOR,
) -> QuoteIntent:
    """The QuoteIntent to publish for a decision; a pull carries its reason.

    `ts_tick_ns` is when md_gateway received the venue frame that triggered this decision (0 when
    no book update triggered it), carried through risk so the executor can time tick-to-order.
    """
    return QuoteIntent(
        venue=venue,
        category=category,
        symbol=symbol,
        bids=list(decision.ladder.bids),
        asks=list(decision.ladder.asks),
        source_update_id=decision.update_id,
        intent_id=intent_id,
        ts_source_ns=ts_source_ns,
        ts_intent_ns=now_ns,
        ts_tick_ns=ts_tick_ns,
        reason=decision.pull_reason or decision.reason,
        color=color,
    )

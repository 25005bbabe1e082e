"""Freshness on a clock: which input of a quoting symbol has gone stale, judged by age, not arrival.

Risk's clock asks this every `evaluate_interval_s` for each symbol with orders out. A symbol whose
book is missing, not live or older than `stale_after_ms`, or whose last quote intent is older than
`intent_stale_after_ms` (the quoter dead, or raising on every tick) is stale: risk cancels that
symbol's orders and says why. A fresh intent on a fresh book quotes again through the usual checks.

Positions are published by the executor when they change, so their age says nothing on a quiet
symbol; the position risk acts on is what stream EXEC adds up to, and its freshness is the EXEC
consumer's lag, a halt trigger of its own (`exec_lag` in `risk.kill_switch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from risk.limits import SymbolLimits
from risk.verdicts import MarketView

_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Staleness:
    """One symbol's stale input: which, how old, against which bound, and a sentence."""

    symbol: str
    input: str  # "book" or "intent"
    age_ms: Decimal
    limit_ms: int
    detail: str


def stale_input(
    symbol: str,
    limits: SymbolLimits,
    market: MarketView | None,
    last_intent_ns: int | None,
    now_ns: int,
) -> Staleness | None:
    """The first stale input of `symbol` at `now_ns` (book before intent), or None."""
    if market is None:
        return Staleness(symbol, "book", Decimal(-1), limits.stale_after_ms, "no book")
    book_age = Decimal(now_ns - market.ts_received_ns) / _NS_PER_MS
    if not market.live:
        return Staleness(symbol, "book", book_age, limits.stale_after_ms, "feed not live")
    if book_age > limits.stale_after_ms:
        detail = f"book {book_age} ms old, bound {limits.stale_after_ms} ms"
        return Staleness(symbol, "book", book_age, limits.stale_after_ms, detail)
    if last_intent_ns is None:
        return None  # orders out without an intent: a restart's targets, judged by the book
    intent_age = Decimal(now_ns - last_intent_ns) / _NS_PER_MS
    if intent_age > limits.intent_stale_after_ms:
        detail = f"last intent {intent_age} ms old, bound {limits.intent_stale_after_ms} ms"
        return Staleness(symbol, "intent", intent_age, limits.intent_stale_after_ms, detail)
    return None

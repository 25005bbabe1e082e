"""Re-exports the Rust L2 order book (mm_orderbook._native) under its public names."""

from mm_orderbook._native import (
    ApplyOutcome,
    BookError,
    OrderBook,
    OutcomeKind,
    price_to_ticks,
    qty_to_lots,
)

__all__ = [
    "ApplyOutcome",
    "BookError",
    "OrderBook",
    "OutcomeKind",
    "price_to_ticks",
    "qty_to_lots",
]

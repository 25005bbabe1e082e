"""What the engine tells the wire layers after each action: books, trades, private records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BookChanged:
    """The public book of (category, symbol) may differ from what was last published."""

    category: str
    symbol: str


@dataclass(frozen=True)
class PublicTrades:
    """Trades on the public tape, already in `publicTrade` item shape."""

    category: str
    symbol: str
    trades: list[dict[str, Any]]


@dataclass(frozen=True)
class PrivateRecords:
    """Records for one account's private topic (`order`, `execution`, `position`, `wallet`)."""

    uid: int
    topic: str
    records: list[dict[str, Any]]


Event = BookChanged | PublicTrades | PrivateRecords

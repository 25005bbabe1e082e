"""Replay of a recorded file of Bybit public frames as one symbol's market, instead of the model.

The file holds one public WS message per line, as Bybit sends them: `orderbook.N.SYMBOL` snapshots
and deltas and `publicTrade.SYMBOL` batches (other lines are skipped). Each market step applies the
trades recorded before the next book frame (they eat our queue at their price, and fill our orders
they trade through), then that book frame sets the market's displayed levels. When the file is
exhausted the book stays as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from mm_sim.book import BUY, SELL, SymbolBook
from mm_sim.instruments import Instrument
from mm_sim.market_model import TradeIntent


class ReplayError(ValueError):
    """A replay file that cannot drive the simulator (unreadable, or names no book frame)."""


def replay_symbol(path: Path) -> str:
    """The symbol of the first book frame in a replay file."""
    for message in _frames(path):
        topic = str(message.get("topic", ""))
        if topic.startswith("orderbook."):
            return topic.rsplit(".", 1)[-1]
    raise ReplayError(f"expected orderbook frames in replay file {path}, found none")


def _frames(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                raise ReplayError(f"expected JSON on line {number} of {path}") from None
            if isinstance(message, dict):
                yield message


class ReplayModel:
    """Drives one symbol's book from recorded frames; same interface as `MarketModel`."""

    def __init__(self, path: Path, instrument: Instrument) -> None:
        self.instrument = instrument
        self._frames = _frames(path)
        self._pending_book: dict[str, Any] | None = None
        self.exhausted = False
        self.frames_applied = 0
        self.last_update_id = 0
        self._best = (0, 0)
        self.mid_ticks = 0.0

    def trades_before_move(self) -> list[TradeIntent]:
        """Read frames up to the next book frame; return the trades recorded before it."""
        trades: list[TradeIntent] = []
        for message in self._frames:
            topic = str(message.get("topic", ""))
            if topic.startswith("publicTrade."):
                trades.extend(self._trade(item) for item in message.get("data", []))
            elif topic.startswith("orderbook."):
                self._pending_book = message
                return trades
        self.exhausted = True
        return trades

    def _trade(self, item: dict[str, Any]) -> TradeIntent:
        price = int(Decimal(item["p"]) / self.instrument.tick_size)
        lots = max(1, int(Decimal(item["v"]) / self.instrument.qty_step))
        return TradeIntent(str(item["S"]), lots, informed=False, price_ticks=price)

    def move(self) -> None:
        """Nothing to draw: the next book frame is already pending."""

    def reshape(self, book: SymbolBook) -> None:
        """Apply the pending book frame to the market's displayed levels."""
        message, self._pending_book = self._pending_book, None
        if message is None:
            return
        data = message["data"]
        if message.get("type") == "snapshot":
            for side in (BUY, SELL):
                for price in list(book.market_side(side)):
                    book.set_market_level(side, price, 0)
        for side, key in ((BUY, "b"), (SELL, "a")):
            for price_text, size_text in data.get(key, []):
                price = int(Decimal(price_text) / self.instrument.tick_size)
                book.set_market_level(
                    side, price, int(Decimal(size_text) / self.instrument.qty_step)
                )
        self.frames_applied += 1
        self.last_update_id = int(data.get("u", 0))
        best_bid, best_ask = book.best_market(BUY), book.best_market(SELL)
        if best_bid is not None and best_ask is not None:
            self._best = (best_bid, best_ask)
            self.mid_ticks = (best_bid + best_ask) / 2

    def best_prices(self) -> tuple[int, int]:
        return self._best

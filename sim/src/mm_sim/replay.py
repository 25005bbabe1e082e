"""Replay of a recorded file of Bybit public frames as one symbol's market, instead of the model.

The file holds one public WS message per line, as Bybit sends them: `orderbook.N.SYMBOL` snapshots
and deltas and `publicTrade.SYMBOL` batches (other lines are skipped). Each market step applies the
trades recorded before the next book frame (they eat our queue at their price, and fill our orders
they trade through), then that book frame sets the market's displayed levels. When the file is
exhausted the book stays as it is.

The recorder's hourly files are replay files as they are: zstd-compressed (`.zst`) files are
decompressed while reading, lines without a `topic` (its receive-time gaps and bus records) are
skipped, and of several book topics (`orderbook.1` and `orderbook.50` of one symbol) the deepest
in the file's first lines drives the book. An unfinished last line (a recording cut by SIGKILL)
is skipped; a bad line anywhere else is refused.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import zstandard

from mm_sim.book import BUY, SELL, SymbolBook
from mm_sim.instruments import Instrument
from mm_sim.market_model import TradeIntent

_log = logging.getLogger("mm_sim.replay")
# How far into the file to look for the deepest book topic.
_SCAN_LINES = 10_000


class ReplayError(ValueError):
    """A replay file that cannot drive the simulator (unreadable, or names no book frame)."""


def replay_symbol(path: Path) -> str:
    """The symbol of the book topic that drives the replay."""
    return replay_topic(path).rsplit(".", 1)[-1]


def replay_topic(path: Path) -> str:
    """The deepest `orderbook.N.SYMBOL` topic among the file's first lines (the first symbol's)."""
    found: dict[str, int] = {}
    for number, message in enumerate(_frames(path)):
        topic = str(message.get("topic", ""))
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit():
            if found and parts[2] != next(iter(found)).rsplit(".", 1)[-1]:
                continue
            found[topic] = int(parts[1])
        if number >= _SCAN_LINES:
            break
    if not found:
        raise ReplayError(f"expected orderbook frames in replay file {path}, found none")
    return max(found, key=lambda topic: found[topic])


def _open(path: Path) -> IO[str]:
    if path.suffix != ".zst":
        return path.open()
    reader = zstandard.ZstdDecompressor().stream_reader(path.open("rb"), read_across_frames=True)
    return io.TextIOWrapper(reader, encoding="utf-8")


def _frames(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as lines:
        pending: tuple[int, str] | None = None
        for number, line in enumerate(lines, 1):
            if pending is not None:
                raise ReplayError(f"expected JSON on line {pending[0]} of {path}")
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                pending = (number, line)  # an error unless it is the unfinished last line
                continue
            if isinstance(message, dict):
                yield message
        if pending is not None:
            if pending[1].endswith("\n"):
                raise ReplayError(f"expected JSON on line {pending[0]} of {path}")
            _log.warning(
                "unfinished last line of the replay file skipped", extra={"path": str(path)}
            )


class ReplayModel:
    """Drives one symbol's book from recorded frames; same interface as `MarketModel`."""

    def __init__(self, path: Path, instrument: Instrument) -> None:
        self.instrument = instrument
        self.topic = replay_topic(path)
        self._trade_topic = "publicTrade." + self.topic.rsplit(".", 1)[-1]
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
            if topic == self._trade_topic:
                trades.extend(self._trade(item) for item in message.get("data", []))
            elif topic == self.topic:
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

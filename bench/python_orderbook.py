"""A well-written pure-Python L2 book (orjson + sortedcontainers): the benchmark baseline.

It does the same work as mm_orderbook.OrderBook.apply_frame: parse the frame, check topic
(depth and symbol), symbol, type and both sides, convert decimal strings to integer ticks and
lots exactly, sequence by `u`, apply atomically with an undo log and refuse a crossed result.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import orjson
from sortedcontainers import SortedDict  # type: ignore[import-untyped]


class PythonBookError(ValueError):
    """Malformed or refused input for the baseline book."""


def _increment(text: str) -> tuple[int, int]:
    """(scale, units) of an increment: "0.10" -> (2, 10)."""
    whole, _, fraction = text.partition(".")
    return len(fraction), int(whole + fraction)


def _units(text: str, scale: int, step: int) -> int:
    """Exact count of increments in a decimal string; refuses signs, exponents, NaN, off-grid."""
    whole, dot, fraction = text.partition(".")
    if not (whole.isascii() and whole.isdigit()) or (
        dot and not (fraction.isascii() and fraction.isdigit())
    ):
        raise PythonBookError(f"invalid decimal {text!r}")
    if len(fraction) > scale:
        extra = fraction[scale:]
        if extra.strip("0"):
            raise PythonBookError(f"{text!r} is off the grid")
        fraction = fraction[:scale]
    units, remainder = divmod(int(whole + fraction.ljust(scale, "0")), step)
    if remainder:
        raise PythonBookError(f"{text!r} is off the grid")
    return units


class PythonOrderBook:
    """Bids and asks as SortedDicts of price ticks -> size lots."""

    def __init__(self, symbol: str, tick_size: str, lot_size: str, depth: int) -> None:
        self.symbol = symbol
        self._topic = f"orderbook.{depth}.{symbol}"
        self._tick_scale, self._tick_step = _increment(tick_size)
        self._lot_scale, self._lot_step = _increment(lot_size)
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.last_update_id: int | None = None

    def _levels(self, raw: list[list[str]]) -> list[tuple[int, int]]:
        tick_scale, tick_step = self._tick_scale, self._tick_step
        lot_scale, lot_step = self._lot_scale, self._lot_step
        levels = [
            (_units(price, tick_scale, tick_step), _units(size, lot_scale, lot_step))
            for price, size in raw
        ]
        for price, _ in levels:
            if price <= 0:
                raise PythonBookError(f"price {price} ticks: expected a positive price")
        return levels

    def apply_frame(self, data: bytes) -> str:
        """Apply a raw frame; returns "applied", "reset", "gap" or "stale"."""
        try:
            frame: dict[str, Any] = orjson.loads(data)
            topic, kind, body = frame["topic"], frame["type"], frame["data"]
            symbol, update_id = body["s"], body["u"]
            raw_bids, raw_asks = body["b"], body["a"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as error:
            raise PythonBookError(f"invalid frame: {error}") from error
        if topic != self._topic:
            raise PythonBookError(f"wrong topic {topic!r}")
        if symbol != self.symbol:
            raise PythonBookError(f"wrong symbol {symbol!r}")
        bids, asks = self._levels(raw_bids), self._levels(raw_asks)
        if kind == "snapshot" or update_id == 1:
            return self._reset(bids, asks, update_id)
        if kind != "delta":
            raise PythonBookError(f"unknown type {kind!r}")
        last = self.last_update_id
        if last is None or update_id > last + 1:
            return "gap"
        if update_id <= last:
            return "stale"
        self._change(bids, asks)
        self.last_update_id = update_id
        return "applied"

    def _reset(
        self, bids: list[tuple[int, int]], asks: list[tuple[int, int]], update_id: int
    ) -> str:
        new_bids = SortedDict((p, s) for p, s in bids if s)
        new_asks = SortedDict((p, s) for p, s in asks if s)
        if new_bids and new_asks and new_bids.peekitem(-1)[0] >= new_asks.peekitem(0)[0]:
            raise PythonBookError("crossed snapshot")
        self.bids, self.asks, self.last_update_id = new_bids, new_asks, update_id
        return "reset"

    def _change(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        undo: list[tuple[SortedDict, int, int | None]] = []
        for book_side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                undo.append((book_side, price, book_side.get(price)))
                if size:
                    book_side[price] = size
                else:
                    book_side.pop(price, None)
        if self.bids and self.asks and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0]:
            for book_side, price, previous in reversed(undo):
                if previous is None:
                    book_side.pop(price, None)
                else:
                    book_side[price] = previous
            raise PythonBookError("crossed book")

    def top_levels(self, n: int) -> tuple[list[int], list[int], list[int], list[int]]:
        """(bid prices, bid sizes, ask prices, ask sizes), best first."""
        bid_prices = list(islice(reversed(self.bids.keys()), n))
        ask_prices = list(islice(self.asks.keys(), n))
        return (
            bid_prices,
            [self.bids[p] for p in bid_prices],
            ask_prices,
            [self.asks[p] for p in ask_prices],
        )

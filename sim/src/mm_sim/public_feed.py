"""Public topics: depth-N books with contiguous `u`, the trade tape and tickers, fanned out.

Every book topic (`orderbook.{1,50,200,1000}.{symbol}`) keeps the levels it last published and its
own `u`, which rises by exactly 1 per message. A delta carries the levels whose size changed inside
the top N and an explicit `"0"` for each level that left the window, so a client book trimmed to N
matches. Depth 1 sends snapshots only. Book-delta faults (skip, duplicate, reorder) and paused
topics are applied here, on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from mm_sim.book import BUY, SELL
from mm_sim.events import BookChanged, Event, PublicTrades
from mm_sim.exchange import Exchange, SymbolState
from mm_sim.faults import Faults
from mm_sim.market_views import book_levels, spot_ws_ticker, ticker

DEPTHS = (1, 50, 200, 1000)
Sink = Callable[[bytes], None]


@dataclass
class BookTopic:
    """What one depth topic last published."""

    depth: int
    update_id: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)


class PublicFeed:
    """Turns engine events into public WS messages and hands them to subscribed sinks."""

    def __init__(self, exchange: Exchange, faults: Faults) -> None:
        self.exchange = exchange
        self.faults = faults
        self.subscribers: dict[tuple[str, str], dict[int, Sink]] = {}
        self.books: dict[tuple[str, str, int], BookTopic] = {}
        self.tickers: dict[tuple[str, str], dict[str, Any]] = {}
        self._held: dict[tuple[str, str], bytes] = {}
        for (category, symbol), state in exchange.symbols.items():
            top = self._top(state)
            for depth in DEPTHS:
                topic = BookTopic(depth)
                self._advance(topic, top)
                self.books[(category, symbol, depth)] = topic
            self.tickers[(category, symbol)] = ticker(exchange, state)
        exchange.listeners.append(self.on_event)

    def topic_exists(self, category: str, topic: str) -> bool:
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit():
            return (category, parts[2], int(parts[1])) in self.books
        if len(parts) == 2 and parts[0] in ("publicTrade", "tickers"):
            return (category, parts[1]) in self.tickers
        return False

    def subscribe(self, category: str, topic: str, sink_id: int, sink: Sink) -> None:
        self.subscribers.setdefault((category, topic), {})[sink_id] = sink
        first = self.snapshot(category, topic)
        if first is not None:
            sink(first)

    def unsubscribe(self, category: str, topic: str, sink_id: int) -> None:
        self.subscribers.get((category, topic), {}).pop(sink_id, None)

    def snapshot(self, category: str, topic: str) -> bytes | None:
        """The first message a new subscriber gets (books and tickers; trades have none)."""
        parts = topic.split(".")
        now = self.exchange.clock.now_ms()
        if parts[0] == "orderbook":
            book = self.books[(category, parts[2], int(parts[1]))]
            state = self.exchange.symbols[(category, parts[2])]
            return self._book_message(state, topic, "snapshot", book, book.bids, book.asks, now)
        if parts[0] == "tickers":
            row = self.tickers[(category, parts[1])]
            data = spot_ws_ticker(row) if category == "spot" else row
            state = self.exchange.symbols[(category, parts[1])]
            return _encode(
                {"topic": topic, "type": "snapshot", "data": data, "cs": state.seq, "ts": now}
            )
        return None

    def rest_book(self, state: SymbolState, limit: int) -> dict[str, Any]:
        """The REST `/v5/market/orderbook` result; its `u` is the depth-1000 topic's."""
        key = (state.instrument.category, state.instrument.symbol, 1000)
        return {
            "s": state.instrument.symbol,
            "b": book_levels(state, BUY, limit),
            "a": book_levels(state, SELL, limit),
            "ts": self.exchange.clock.now_ms(),
            "u": self.books[key].update_id,
            "seq": state.seq,
            "cts": state.last_event_ms or self.exchange.clock.now_ms(),
        }

    def on_event(self, event: Event) -> None:
        if isinstance(event, BookChanged):
            state = self.exchange.symbols[(event.category, event.symbol)]
            top = self._top(state)
            for depth in DEPTHS:
                self._publish_book(state, depth, top)
            self._publish_ticker(state)
        elif isinstance(event, PublicTrades):
            topic = f"publicTrade.{event.symbol}"
            message = {
                "topic": topic,
                "type": "snapshot",
                "ts": self.exchange.clock.now_ms(),
                "data": event.trades,
            }
            self._send(event.category, topic, _encode(message))

    @staticmethod
    def _top(state: SymbolState) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        deepest = DEPTHS[-1]
        return state.book.top(BUY, deepest), state.book.top(SELL, deepest)

    @staticmethod
    def _advance(
        book: BookTopic, top: tuple[list[tuple[int, int]], list[tuple[int, int]]]
    ) -> tuple[dict[int, int], dict[int, int]] | None:
        """Move the topic to the current book; return the changed levels (0 = gone), or None."""
        bids = dict(top[0][: book.depth])
        asks = dict(top[1][: book.depth])
        bid_changes = _diff(book.bids, bids)
        ask_changes = _diff(book.asks, asks)
        if not bid_changes and not ask_changes and book.update_id:
            return None
        book.bids, book.asks = bids, asks
        book.update_id += 1
        return bid_changes, ask_changes

    def _publish_book(
        self,
        state: SymbolState,
        depth: int,
        top: tuple[list[tuple[int, int]], list[tuple[int, int]]],
    ) -> None:
        category, symbol = state.instrument.category, state.instrument.symbol
        book = self.books[(category, symbol, depth)]
        changes = self._advance(book, top)
        if changes is None:
            return
        topic = f"orderbook.{depth}.{symbol}"
        now = self.exchange.clock.now_ms()
        if depth == 1:
            snapshot = self._book_message(state, topic, "snapshot", book, book.bids, book.asks, now)
            self._send(category, topic, snapshot)
            return
        message = self._book_message(state, topic, "delta", book, changes[0], changes[1], now)
        self._send_delta(category, topic, message)

    def levels(
        self, state: SymbolState, bids: dict[int, int], asks: dict[int, int]
    ) -> tuple[list[list[str]], list[list[str]]]:
        """Wire `[price, size]` rows, bids highest first, asks lowest first; size 0 is "0"."""
        instrument = state.instrument

        def rows(levels: dict[int, int], reverse: bool) -> list[list[str]]:
            return [
                [instrument.price_text(price), instrument.qty_text(size) if size else "0"]
                for price, size in sorted(levels.items(), reverse=reverse)
            ]

        return rows(bids, True), rows(asks, False)

    def _book_message(
        self,
        state: SymbolState,
        topic: str,
        kind: str,
        book: BookTopic,
        bids: dict[int, int],
        asks: dict[int, int],
        now: int,
    ) -> bytes:
        bid_rows, ask_rows = self.levels(state, bids, asks)
        data = {
            "s": state.instrument.symbol,
            "b": bid_rows,
            "a": ask_rows,
            "u": book.update_id,
            "seq": state.seq,
        }
        message = {
            "topic": topic,
            "type": kind,
            "ts": now,
            "data": data,
            "cts": state.last_event_ms or now,
        }
        return _encode(message)

    def _send_delta(self, category: str, topic: str, message: bytes) -> None:
        if not self.subscribers.get((category, topic)):
            return
        fault = self.faults.take_delta_fault()
        key = (category, topic)
        if fault == "skip":
            return
        if fault == "reorder":
            self._held[key] = message
            return
        self._send(category, topic, message)
        if fault == "duplicate":
            self._send(category, topic, message)
        held = self._held.pop(key, None)
        if held is not None:
            self._send(category, topic, held)

    def _publish_ticker(self, state: SymbolState) -> None:
        category, symbol = state.instrument.category, state.instrument.symbol
        key = (category, symbol)
        row = ticker(self.exchange, state)
        previous = self.tickers[key]
        changed = {name: value for name, value in row.items() if previous.get(name) != value}
        self.tickers[key] = row
        if not changed:
            return
        topic = f"tickers.{symbol}"
        now = self.exchange.clock.now_ms()
        if category == "spot":
            message = {
                "topic": topic,
                "ts": now,
                "type": "snapshot",
                "cs": state.seq,
                "data": spot_ws_ticker(row),
            }
        else:
            message = {
                "topic": topic,
                "type": "delta",
                "data": {"symbol": symbol} | changed,
                "cs": state.seq,
                "ts": now,
            }
        self._send(category, topic, _encode(message))

    def _send(self, category: str, topic: str, message: bytes) -> None:
        if self.faults.topic_paused(topic):
            return
        for sink in list(self.subscribers.get((category, topic), {}).values()):
            sink(message)


def _diff(old: dict[int, int], new: dict[int, int]) -> dict[int, int]:
    changes = {price: size for price, size in new.items() if old.get(price) != size}
    changes.update({price: 0 for price in old if price not in new})
    return changes


def _encode(message: dict[str, Any]) -> bytes:
    return msgspec.json.encode(message)

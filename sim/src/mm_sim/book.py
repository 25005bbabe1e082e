"""One symbol's book: the market's displayed levels plus our resting orders with queue position.

Prices are integer ticks and sizes integer lots. The market's own size at a price is kept apart from
our orders so that an order joining a level records the displayed size ahead of it
(`queue_ahead_lots`); trades at that price eat that size first, then our order, in time order.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_sim.orders import Order

BUY = "Buy"
SELL = "Sell"


@dataclass(frozen=True)
class Fill:
    """Part of one trade: `lots` at `price_ticks` against `maker` (None = the market's own size)."""

    price_ticks: int
    lots: int
    maker: Order | None


class SymbolBook:
    """Displayed levels per side (market size only) and our resting orders per price, FIFO.

    The market's levels change only through `set_market_level`, which keeps each side's best
    price remembered (`best_market` is asked on every order and step; scanning the levels each
    time was most of a non-crossing order's matching)."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.our_bids: dict[int, list[Order]] = {}
        self.our_asks: dict[int, list[Order]] = {}
        self._best: dict[str, int | None] = {}  # per side; absent = not known, None = empty

    def market_side(self, side: str) -> dict[int, int]:
        return self.bids if side == BUY else self.asks

    def our_side(self, side: str) -> dict[int, list[Order]]:
        return self.our_bids if side == BUY else self.our_asks

    def best_market(self, side: str) -> int | None:
        cache = self._best
        if side in cache:
            return cache[side]
        levels = self.market_side(side)
        best = (max(levels) if side == BUY else min(levels)) if levels else None
        cache[side] = best
        return best

    def combined(self, side: str) -> dict[int, int]:
        """Public size per price: the market's plus our resting lots."""
        levels = dict(self.market_side(side))
        for price, orders in self.our_side(side).items():
            ours = sum(order.resting_lots for order in orders)
            if ours:
                levels[price] = levels.get(price, 0) + ours
        return levels

    def set_market_level(self, side: str, price: int, lots: int) -> None:
        """Replace the market's size at a price; our queue position shrinks if size ahead left."""
        levels = self.market_side(side)
        cache = self._best
        if lots <= 0:
            levels.pop(price, None)
            lots = 0
            if side in cache and cache[side] == price:
                del cache[side]  # found again when next asked
        else:
            levels[price] = lots
            if side in cache:
                best = cache[side]
                if best is None or (price > best if side == BUY else price < best):
                    cache[side] = price
        for order in self.our_side(side).get(price, ()):
            order.queue_ahead_lots = min(order.queue_ahead_lots, lots)

    def rest(self, order: Order) -> None:
        """Join the back of the queue at the order's price, behind all displayed size there."""
        order.resting_lots = order.qty_lots - order.cum_lots
        order.queue_ahead_lots = self.market_side(order.side).get(order.price_ticks, 0)
        self.our_side(order.side).setdefault(order.price_ticks, []).append(order)

    def remove(self, order: Order) -> None:
        level = self.our_side(order.side).get(order.price_ticks)
        if level and order in level:
            level.remove(order)
            if not level:
                del self.our_side(order.side)[order.price_ticks]
        order.resting_lots = 0

    def take(self, taker_side: str, lots: int, limit: int | None, include_ours: bool) -> list[Fill]:
        """Match a taker for up to `lots`, best price first, never beyond `limit` ticks."""
        maker_side = SELL if taker_side == BUY else BUY
        fills: list[Fill] = []
        remaining = lots
        while remaining > 0:
            price = self._best_price(maker_side, include_ours)
            if price is None or (limit is not None and not _within(taker_side, price, limit)):
                break
            taken = self._take_level(maker_side, price, remaining, include_ours, fills)
            remaining -= taken
        return fills

    def _best_price(self, side: str, include_ours: bool) -> int | None:
        best = self.best_market(side)
        if include_ours:
            for price, orders in self.our_side(side).items():
                if orders and (best is None or (price > best if side == BUY else price < best)):
                    best = price
        return best

    def _take_level(
        self,
        side: str,
        price: int,
        lots: int,
        include_ours: bool,
        fills: list[Fill],
        deplete_market: bool = True,
    ) -> int:
        """Trade `lots` at one price: displayed size ahead of each of our orders goes first."""
        queue = self.our_side(side).get(price, []) if include_ours else []
        available = self.market_side(side).get(price, 0)
        remaining = lots
        while remaining > 0:
            front = next((order for order in queue if order.resting_lots > 0), None)
            if front is not None and front.queue_ahead_lots == 0:
                size = min(remaining, front.resting_lots)
                front.resting_lots -= size
                fills.append(Fill(price, size, front))
                remaining -= size
                continue
            ahead = front.queue_ahead_lots if front is not None else available
            size = min(remaining, ahead, available)
            if size <= 0:
                break
            for order in queue:
                order.queue_ahead_lots = max(0, order.queue_ahead_lots - size)
            available -= size
            if deplete_market:
                self.set_market_level(side, price, available)
            fills.append(Fill(price, size, None))
            remaining -= size
        for order in [order for order in queue if order.resting_lots == 0]:
            self.remove(order)
        return lots - remaining

    def replay_trade(self, taker_side: str, price: int, lots: int) -> list[Fill]:
        """A recorded trade: our orders priced better fill whole, ours at `price` keep queue
        position. The market's displayed size is left alone: the recorded deltas set it."""
        maker_side = SELL if taker_side == BUY else BUY
        fills: list[Fill] = []
        for level, orders in list(self.our_side(maker_side).items()):
            better = level > price if maker_side == BUY else level < price
            for order in list(orders) if better else []:
                fills.append(Fill(level, order.resting_lots, order))
                self.remove(order)
        self._take_level(maker_side, price, lots, True, fills, deplete_market=False)
        return [fill for fill in fills if fill.maker is not None]

    def crossed_orders(self) -> list[Order]:
        """Our resting orders the market's own opposite side has moved through."""
        crossed: list[Order] = []
        best_ask = self.best_market(SELL)
        best_bid = self.best_market(BUY)
        if best_ask is not None:
            for price, orders in self.our_bids.items():
                if price >= best_ask:
                    crossed.extend(orders)
        if best_bid is not None:
            for price, orders in self.our_asks.items():
                if price <= best_bid:
                    crossed.extend(orders)
        return crossed

    def top(self, side: str, depth: int) -> list[tuple[int, int]]:
        """The best `depth` public levels of a side, best first."""
        levels = self.combined(side)
        prices = sorted(levels, reverse=side == BUY)[:depth]
        return [(price, levels[price]) for price in prices]


def _within(taker_side: str, price: int, limit: int) -> bool:
    return price <= limit if taker_side == BUY else price >= limit

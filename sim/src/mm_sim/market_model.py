"""The seeded synthetic market for one symbol: mid dynamics, displayed depth and trade arrivals.

Each step draws the next mid move (drift + Gaussian volatility + rare jumps), then the trades that
arrive before it: informed trades take the side the mid is about to move to, uninformed ones pick a
side at random. An informed trade may be larger (`informed_trade_size_lots`, sweeping levels) and
leave a persistent move its way (`informed_impact_ticks` over `informed_impact_steps` steps, added
to the later moves, never reverted). After the trades the displayed book is re-centred on the new
mid, missing levels are refilled and a few levels change size. Everything is drawn from one
`random.Random`, so one seed and the same order flow give the same market.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import deque
from dataclasses import dataclass

from mm_sim.book import BUY, SELL, SymbolBook
from mm_sim.settings import MarketModelConfig


@dataclass(frozen=True)
class TradeIntent:
    """A market participant's market order: taker side, size in lots, and for a replayed trade
    the recorded price (None = sweep the book from the best price)."""

    side: str
    lots: int
    informed: bool
    price_ticks: int | None = None


class MarketModel:
    """Owns the mid (in ticks) and reshapes the market part of a `SymbolBook`."""

    def __init__(
        self, config: MarketModelConfig, symbol_key: str, start_ticks: int, seed: int, unit: int = 1
    ):
        self.config = config
        self.unit = unit
        seed_value = seed * 1_000_003 + zlib.crc32(symbol_key.encode())
        self.random = random.Random(seed_value)  # noqa: S311 - a seeded model, not secrets
        self.mid_ticks = float(start_ticks)
        self._pending_move = self._draw_move()
        # Informed trades' impact being absorbed: its ticks per step now, and when each ends.
        self._steps = 0
        self._impact_rate = 0.0
        self._impact_ends: deque[tuple[int, float]] = deque()

    def _draw_move(self) -> float:
        config = self.config
        move = config.drift_ticks + self.random.gauss(0.0, 1.0) * config.volatility_ticks
        if self.random.random() < config.jump_probability:
            move += config.jump_ticks * (1 if self.random.random() < 0.5 else -1)
        return move

    def trades_before_move(self) -> list[TradeIntent]:
        """The trades arriving this step, drawn before the mid moves (informed ones predict it)."""
        config = self.config
        intents: list[TradeIntent] = []
        if self._pending_move != 0 and self.random.random() < config.informed_trade_probability:
            side = BUY if self._pending_move > 0 else SELL
            mean = config.informed_trade_size_lots or config.trade_size_lots
            intents.append(TradeIntent(side, self._trade_size(mean), informed=True))
            self._add_impact(1 if side == BUY else -1)
        if self.random.random() < config.uninformed_trade_probability:
            side = BUY if self.random.random() < 0.5 else SELL
            intents.append(TradeIntent(side, self._trade_size(self.config.trade_size_lots), False))
        return intents

    def _trade_size(self, mean_lots: int) -> int:
        size = max(1, int(self.random.expovariate(1.0 / mean_lots)))
        return size * self.unit

    def _add_impact(self, sign: int) -> None:
        config = self.config
        if config.informed_impact_ticks > 0:
            per_step = sign * config.informed_impact_ticks / config.informed_impact_steps
            self._impact_rate += per_step
            self._impact_ends.append((self._steps + config.informed_impact_steps, per_step))

    def _impact_move(self) -> float:
        """This step's share of every informed trade's impact still being absorbed."""
        move = self._impact_rate
        self._steps += 1
        ends = self._impact_ends
        while ends and ends[0][0] <= self._steps:
            self._impact_rate -= ends.popleft()[1]
        if not ends:
            self._impact_rate = 0.0  # no rounding residue left to creep into the mid
        return move

    def move(self) -> None:
        """Apply the move drawn earlier (and informed trades' impact) and draw the next one."""
        move = self._pending_move + self._impact_move()
        self.mid_ticks = max(self.config.levels + 10.0, self.mid_ticks + move)
        self._pending_move = self._draw_move()

    def best_prices(self) -> tuple[int, int]:
        """The market's best bid and ask around the current mid, `spread_ticks` apart."""
        best_bid = math.floor(self.mid_ticks - self.config.spread_ticks / 2)
        return best_bid, best_bid + self.config.spread_ticks

    def reshape(self, book: SymbolBook) -> None:
        """Re-centre the market's levels on the mid, refill gaps, and resize a few levels."""
        best_bid, best_ask = self.best_prices()
        levels = self.config.levels
        self._reshape_side(book, BUY, range(best_bid, best_bid - levels, -1))
        self._reshape_side(book, SELL, range(best_ask, best_ask + levels))
        for _ in range(self.config.resize_levels_per_step):
            side = BUY if self.random.random() < 0.5 else SELL
            distance = self.random.randrange(levels)
            price = best_bid - distance if side == BUY else best_ask + distance
            book.set_market_level(side, price, self._level_size(distance))

    def _reshape_side(self, book: SymbolBook, side: str, window: range) -> None:
        wanted = set(window)
        current = book.market_side(side)
        for price in [price for price in current if price not in wanted]:
            book.set_market_level(side, price, 0)
        for distance, price in enumerate(window):
            if price not in current:
                book.set_market_level(side, price, self._level_size(distance))

    def _level_size(self, distance: int) -> int:
        config = self.config
        scale = config.level_size_lots * (1.0 + config.level_growth * distance)
        return max(1, int(scale * self.random.uniform(0.5, 1.5))) * self.unit

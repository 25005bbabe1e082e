"""The book's remembered best prices always equal a scan of its levels, whatever changes them."""

from __future__ import annotations

import random

from mm_sim.book import BUY, SELL, SymbolBook
from mm_sim.instruments import Instrument
from mm_sim.orders import Order
from mm_sim.settings import InstrumentConfig


def _scanned(book: SymbolBook, side: str) -> int | None:
    levels = book.market_side(side)
    if not levels:
        return None
    return max(levels) if side == BUY else min(levels)


def test_best_market_follows_every_level_set_and_removed() -> None:
    draw = random.Random(5)
    book = SymbolBook()
    for step in range(5000):
        side = draw.choice((BUY, SELL))
        price = draw.randrange(90, 110)
        lots = draw.choice((0, 0, -1, 1, 5, 20))
        book.set_market_level(side, price, lots)
        if step % 3:  # asked after some changes, not after others
            for checked in (BUY, SELL):
                assert book.best_market(checked) == _scanned(book, checked), step
    for side in (BUY, SELL):
        for price in list(book.market_side(side)):
            book.set_market_level(side, price, 0)
        assert book.best_market(side) is None


def test_a_taker_reaches_our_order_priced_better_than_the_market() -> None:
    instrument = Instrument(
        InstrumentConfig(symbol="BTCUSDT", base_coin="BTC", tick_size="0.1", qty_step="0.001")
    )
    book = SymbolBook()
    book.set_market_level(SELL, 105, 4)
    order = Order("o", "c", 1, instrument, SELL, "Limit", "GTC", 103, 2, 0)
    book.rest(order)
    fills = book.take(BUY, 3, None, include_ours=True)
    assert [(fill.price_ticks, fill.lots, fill.maker) for fill in fills] == [
        (103, 2, order),
        (105, 1, None),
    ]
    assert book.best_market(SELL) == 105
    assert book.take(BUY, 1, 104, include_ours=False) == []

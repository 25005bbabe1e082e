"""Positions and PnL from fills and snapshots: average cost, realized/unrealized, fees, dedup."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from risk.portfolio import Portfolio

BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"))
ETH = Grid("ETHUSDT", Decimal("0.01"), Decimal("0.01"))


def portfolio() -> Portfolio:
    return Portfolio({"BTCUSDT": BTC, "ETHUSDT": ETH})


def test_buys_average_the_entry_and_a_sell_realizes_the_difference() -> None:
    book = portfolio()
    book.apply_fill("BTCUSDT", "f1", 10, 1_000_000)  # 0.010 BTC at 100000.0
    book.apply_fill("BTCUSDT", "f2", 10, 1_000_200)  # 0.010 BTC at 100020.0
    assert book.position("BTCUSDT").entry_price_ticks == Decimal(1_000_100)
    book.apply_fill("BTCUSDT", "f3", -5, 1_000_300)
    # 5 lots * 0.001 * (200 ticks * 0.1) = 0.1
    assert book.position("BTCUSDT").realized_pnl == Decimal("0.1")
    assert book.position_lots("BTCUSDT") == 15


def test_crossing_through_zero_opens_the_remainder_at_the_fill_price() -> None:
    book = portfolio()
    book.apply_fill("BTCUSDT", "a", 5, 1_000_000)
    book.apply_fill("BTCUSDT", "b", -8, 999_000)
    position = book.position("BTCUSDT")
    assert position.size_lots == -3
    assert position.entry_price_ticks == Decimal(999_000)
    assert position.realized_pnl == Decimal("-0.5")


def test_fees_reduce_and_rebates_add_to_realized_pnl() -> None:
    book = portfolio()
    book.apply_fill("ETHUSDT", "a", 1, 300_000, fee=Decimal("0.02"))
    book.apply_fill("ETHUSDT", "b", -1, 300_000, fee=Decimal("-0.01"))
    assert book.position("ETHUSDT").realized_pnl == Decimal("-0.01")


def test_a_redelivered_fill_is_not_counted_twice() -> None:
    book = portfolio()
    assert book.apply_fill("BTCUSDT", "same", 5, 1_000_000)
    assert not book.apply_fill("BTCUSDT", "same", 5, 1_000_000)
    assert book.position_lots("BTCUSDT") == 5


def test_unrealized_pnl_and_exposure_use_the_mark() -> None:
    book = portfolio()
    book.apply_fill("BTCUSDT", "a", 10, 1_000_000)
    book.apply_fill("ETHUSDT", "b", -100, 300_000)
    assert book.unrealized_pnl("BTCUSDT") == 0
    book.mark("BTCUSDT", Decimal(1_001_000))
    book.mark("ETHUSDT", Decimal(300_000))
    assert book.unrealized_pnl("BTCUSDT") == Decimal("1")
    assert book.total_pnl() == Decimal("1")
    gross, net = book.exposure_excluding("BTCUSDT")
    assert (gross, net) == (Decimal(3_000), Decimal(-3_000))


def test_an_executor_snapshot_replaces_the_fill_derived_position() -> None:
    book = portfolio()
    book.apply_fill("BTCUSDT", "a", 10, 1_000_000)
    book.apply_position("BTCUSDT", 7, Decimal(999_000))
    assert book.position_lots("BTCUSDT") == 7
    assert book.position("BTCUSDT").entry_price_ticks == Decimal(999_000)

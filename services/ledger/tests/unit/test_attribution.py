"""PnL attribution: spread, fees, inventory and funding, exact and summing to net."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import Ledger, UnknownSymbolError
from mm_proto import KpiSnapshot, Side

from .conftest import INSTRUMENT, SECOND, T0, fill, funding, top


def ledger() -> Ledger:
    books = Ledger()
    books.add_instrument(INSTRUMENT)
    return books


def rows(snapshots: list[KpiSnapshot]) -> dict[tuple[str, str], KpiSnapshot]:
    return {(s.side, s.color): s for s in snapshots}


def test_spread_fees_inventory_and_funding_match_the_hand_computed_figures() -> None:
    books = ledger()
    books.on_top(top(650000, 650001, T0))  # mid 65000.05
    books.on_fill(fill(Side.BUY, 650000, 10, T0 + 1, fee="-0.13"))  # buy 0.010 at 65000.0
    books.on_top(top(650010, 650011, T0 + SECOND))  # mid 65001.05
    books.on_fill(fill(Side.SELL, 650012, 4, T0 + 2 * SECOND, fee="-0.052"))  # sell 0.004
    books.on_funding(funding("0.039", 6, T0 + 3 * SECOND))
    by_key = rows(books.flush(T0, T0 + 60 * SECOND))
    buy, sell, whole = by_key["buy", "blue"], by_key["sell", "blue"], by_key["all", "blue"]
    # 0.010 x (65000.05 - 65000.0) and 0.004 x (65001.2 - 65001.05)
    assert (buy.spread_pnl, sell.spread_pnl) == ("0.0005", "0.0006")
    assert (buy.fee_pnl, sell.fee_pnl) == ("0.13", "0.052")
    assert (whole.inventory_pnl, whole.funding_pnl) == ("0.01", "-0.039")  # 0.010 x 1.00
    total = sum(Decimal(row.net_pnl) for row in by_key.values())
    assert total == Decimal("0.1541")
    assert whole.cumulative_net_pnl == "0.1541"
    assert (whole.position_lots_end, whole.position_min_lots, whole.position_max_lots) == (6, 0, 10)
    assert (buy.fills, buy.volume_lots, buy.notional) == (1, 10, "650")


def test_net_equals_the_equity_change_marked_at_the_last_mid_through_a_flip() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    trades = [
        (Side.BUY, 650000, 10, "-0.13"),
        (Side.SELL, 650003, 25, "-0.325"),  # flips to short 15
        (Side.BUY, 649990, 7, "0.25"),  # a taker fee
    ]
    for index, (side, price, lots, fee) in enumerate(trades):
        books.on_top(top(650000 - 5 * index, 650002 - 5 * index, T0 + index * SECOND))
        books.on_fill(fill(side, price, lots, T0 + index * SECOND + 1, fee=fee))
    books.on_top(top(649980, 649983, T0 + 9 * SECOND))
    snapshots = books.flush(T0, T0 + 60 * SECOND)
    net = sum(Decimal(s.net_pnl) for s in snapshots)
    mark = Decimal("64998.15")  # (64998.0 + 64998.3) / 2
    cash = sum(
        (1 if side is Side.BUY else -1) * Decimal(lots) / 1000 * (mark - Decimal(price) / 10)
        for side, price, lots, _ in trades
    )
    fees = sum(Decimal(fee) for *_, fee in trades)
    assert net == cash - fees
    components = sum(
        Decimal(s.spread_pnl) + Decimal(s.fee_pnl) + Decimal(s.inventory_pnl) for s in snapshots
    )
    assert components == net
    assert rows(snapshots)["all", "blue"].position_lots_end == -8


def test_a_fill_delivered_twice_is_booked_once() -> None:
    books = ledger()
    books.on_top(top(650000, 650001, T0))
    once = fill(Side.BUY, 650000, 10, T0 + 1, fee="-0.13")
    assert books.on_fill(once)
    assert not books.on_fill(once)
    assert books.on_funding(funding("0.01", 10, T0 + 2))
    assert not books.on_funding(funding("0.01", 10, T0 + 2))
    by_key = rows(books.flush(T0, T0 + SECOND))
    assert (by_key["buy", "blue"].fills, by_key["all", "blue"].funding_pnl) == (1, "-0.01")
    assert books.duplicates == 2


def test_a_late_fill_takes_the_mid_of_its_time_and_catches_inventory_up() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))  # mid 65000.1
    books.on_top(top(650020, 650022, T0 + SECOND))  # mid 65002.1
    books.on_fill(fill(Side.BUY, 650000, 10, T0 + SECOND // 2))  # happened at the first mid
    by_key = rows(books.flush(T0, T0 + 2 * SECOND))
    assert by_key["buy", "blue"].spread_pnl == "0.001"  # 0.010 x 0.1
    assert by_key["all", "blue"].inventory_pnl == "0.02"  # 0.010 x 2.0


def test_fills_before_any_mid_are_valued_at_the_first_mid() -> None:
    books = ledger()
    books.on_fill(fill(Side.SELL, 650004, 10, T0))
    books.on_top(top(650000, 650002, T0 + 1))
    by_key = rows(books.flush(T0, T0 + SECOND))
    assert by_key["sell", "blue"].spread_pnl == "0.003"  # 0.010 x (65000.4 - 65000.1)
    assert books.books["BTCUSDT"].unmarked_fills == 1


def test_colors_keep_separate_books_and_share_funding_by_position() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    books.on_fill(fill(Side.BUY, 650000, 30, T0 + 1, color="green"))
    books.on_fill(fill(Side.BUY, 650000, 10, T0 + 2))
    books.on_funding(funding("0.1", 40, T0 + 3))
    by_key = rows(books.flush(T0, T0 + SECOND))
    assert by_key["all", "green"].funding_pnl == "-0.075"
    assert by_key["all", "blue"].funding_pnl == "-0.025"
    assert (by_key["buy", "green"].spread_pnl, by_key["buy", "blue"].spread_pnl) == (
        "0.003",
        "0.001",
    )


def test_a_base_coin_fee_is_valued_at_the_fill_price() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    books.on_fill(fill(Side.BUY, 650000, 10, T0 + 1, fee="0.00001", fee_currency="BTC"))
    assert rows(books.flush(T0, T0 + SECOND))["buy", "blue"].fee_pnl == "-0.65"


def test_bad_inputs_are_refused_with_the_reason_or_ignored_when_harmless() -> None:
    books = ledger()
    with pytest.raises(UnknownSymbolError, match="ETHUSDT"):
        books.on_top(top(1, 2, T0).__class__(**{**_fields(top(1, 2, T0)), "symbol": "ETHUSDT"}))
    books.on_top(top(650002, 650000, T0))  # crossed: no mid
    books.on_top(top(0, 650000, T0))  # one side empty: no mid
    assert books.books["BTCUSDT"].mid2 is None
    with pytest.raises(ValueError, match="finite"):
        books.on_fill(fill(Side.BUY, 650000, 1, T0, fee="NaN"))


def _fields(message: object) -> dict[str, object]:
    import msgspec

    return msgspec.structs.asdict(message)  # type: ignore[arg-type]

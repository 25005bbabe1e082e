"""A fill's fee and a baseline's entry price as risk reads them: absurd values refused safely."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mm_proto import Fill, Grid, Position, Side
from risk.fact_values import baseline_entry, fill_fee

GRID = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"))
FILL = Fill(
    venue="bybit",
    category="linear",
    symbol="BTCUSDT",
    fill_id="e1",
    venue_order_id="o1",
    client_order_id="c1",
    side=Side.BUY,
    price_ticks=650_000,
    size_lots=1,
    fee="-0.0032",
    fee_currency="USDT",
    is_maker=True,
    ts_exchange_ns=1,
    ts_received_ns=2,
)
BASELINE = Position(
    venue="bybit",
    category="linear",
    symbol="BTCUSDT",
    size_lots=2,
    entry_price="65000.05",
    realized_pnl="0",
    unrealized_pnl="0",
    ts_exchange_ns=1,
    reconciled=True,
)


def test_a_fee_in_the_quote_coin_is_read_as_given() -> None:
    assert fill_fee(FILL, "USDT") == Decimal("-0.0032")
    assert fill_fee(msgspec.structs.replace(FILL, fee_currency=""), "USDT") == Decimal("-0.0032")


def test_a_fee_in_another_coin_or_not_a_finite_number_is_refused() -> None:
    assert fill_fee(msgspec.structs.replace(FILL, fee_currency="BTC"), "USDT") is None
    for fee in ("NaN", "Infinity", "-inf", "abc", ""):
        assert fill_fee(msgspec.structs.replace(FILL, fee=fee), "USDT") is None, fee


def test_a_baselines_entry_is_in_ticks_and_an_off_grid_average_is_kept_exact() -> None:
    assert baseline_entry(BASELINE, GRID) == Decimal("650000.5")


def test_an_unreadable_or_negative_baseline_entry_reads_as_zero() -> None:
    for price in ("abc", "NaN", "-5", "Infinity"):
        assert baseline_entry(msgspec.structs.replace(BASELINE, entry_price=price), GRID) == 0


def test_a_push_or_a_symbol_without_a_grid_has_no_baseline_entry() -> None:
    assert baseline_entry(msgspec.structs.replace(BASELINE, reconciled=False), GRID) is None
    assert baseline_entry(BASELINE, None) is None

"""Order records in isolation: decimal formatting never uses exponents, statuses and leaves."""

from __future__ import annotations

from decimal import Decimal

from mm_sim.instruments import Instrument
from mm_sim.orders import Order, plain
from mm_sim.settings import default_instruments


def test_round_average_price_prints_without_exponent() -> None:
    instrument = Instrument(default_instruments()[0])
    order = Order(
        "id",
        "",
        1,
        instrument,
        "Buy",
        "Limit",
        "GTC",
        600_000,
        10,
        0,
        cum_lots=10,
        cum_value=Decimal("600.000"),
        status="Filled",
    )
    record = order.record()
    assert record["avgPrice"] == "60000"
    assert record["cumExecValue"] == "600"
    assert (record["leavesQty"], record["price"]) == ("0.000", "60000.00")


def test_plain_formats() -> None:
    texts = ("1E+5", "0.000", "-0", "0E-8", "-0E+3", "1.2300", "-0.00005")
    assert [plain(Decimal(text)) for text in texts] == [
        "100000",
        "0",
        "0",
        "0",
        "0",
        "1.23",
        "-0.00005",
    ]


def test_tiny_ticks_print_in_plain_notation() -> None:
    from mm_sim.settings import InstrumentConfig

    config = InstrumentConfig(
        symbol="PEPEUSDT",
        base_coin="PEPE",
        tick_size=Decimal("0.0000001"),
        qty_step=Decimal("100"),
        min_order_qty=Decimal("100"),
    )
    instrument = Instrument(config)
    assert instrument.price_text(123) == "0.0000123"
    assert instrument.qty_text(3) == "300"
    assert instrument.info_row()["priceFilter"]["tickSize"] == "0.0000001"

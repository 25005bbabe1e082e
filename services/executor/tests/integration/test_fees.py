"""The executor reads the account's fee rates from the venue at start and stores them."""

from __future__ import annotations

from typing import Any

from mm_proto import FeeSchedule, decode, subjects


async def test_the_accounts_fee_rates_are_stored_per_symbol_at_start(harness: Any) -> None:
    await harness.start_executor(harness.settings())
    bucket = await harness.js.key_value(subjects.FEE_BUCKET)
    entry = await bucket.get(subjects.instrument_key("bybit", "linear", "BTCUSDT"))
    fees = decode(entry.value, FeeSchedule)
    expected = harness.sim.venue.exchange.settings
    assert fees.maker_fee_rate == str(expected.maker_fee_rate)
    assert fees.taker_fee_rate == str(expected.taker_fee_rate)

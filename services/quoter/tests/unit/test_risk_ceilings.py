"""The quoter's sizes against risk's position limits: one level or max_inventory_lots beyond risk's
max_position_lots is refused with a reason; within it, or without a known limit, nothing is."""

from __future__ import annotations

import json

import pytest

from quoter.params import QuoterParams
from quoter.risk_ceilings import ceiling_refusals, parse_position_ceilings


def test_a_level_larger_than_risks_position_limit_is_refused_with_the_numbers() -> None:
    params = QuoterParams(level_size_lots=20, max_inventory_lots=20)
    reasons = ceiling_refusals({"BTCUSDT": params}, {"BTCUSDT": 10})
    assert reasons == [
        "BTCUSDT: one level 20 lots exceeds risk's max_position_lots 10",
        "BTCUSDT: max_inventory_lots 20 exceeds risk's max_position_lots 10",
    ]


def test_max_inventory_beyond_risks_position_limit_is_refused() -> None:
    params = QuoterParams(level_size_lots=1, max_inventory_lots=50)
    reasons = ceiling_refusals({"BTCUSDT": params}, {"BTCUSDT": 10})
    assert reasons == ["BTCUSDT: max_inventory_lots 50 exceeds risk's max_position_lots 10"]


def test_the_largest_level_of_a_growing_ladder_is_the_one_checked() -> None:
    params = QuoterParams(level_size_lots=4, level_size_multiplier=2.0, levels=3)
    reasons = ceiling_refusals({"BTCUSDT": params}, {"BTCUSDT": 10})
    assert reasons == ["BTCUSDT: one level 16 lots exceeds risk's max_position_lots 10"]


def test_sizes_within_the_limit_or_without_a_known_limit_pass() -> None:
    params = QuoterParams(level_size_lots=10, max_inventory_lots=10)
    assert ceiling_refusals({"BTCUSDT": params}, {"BTCUSDT": 10}) == []
    assert ceiling_refusals({"BTCUSDT": params}, {}) == []


def test_risks_entry_is_read_per_symbol_and_a_malformed_one_is_an_error() -> None:
    raw = json.dumps({"BTCUSDT": {"max_position_lots": 7, "max_order_lots": 3}}).encode()
    assert parse_position_ceilings(raw) == {"BTCUSDT": 7}
    for bad in (b"{", b"[]", b'{"BTCUSDT": {"max_position_lots": 1.5}}', b'{"X": 3}'):
        with pytest.raises(ValueError, match="risk's limits entry"):
            parse_position_ceilings(bad)

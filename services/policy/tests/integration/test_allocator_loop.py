"""The allocator's gross and order-rate budgets written through the real quoter's config-set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from mm_proto import InstrumentDefinition
from mm_runtime.jetstream import store_instrument
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Rig

BUDGETS = {
    "allocator": True,
    "rebalance_interval_s": 0.25,
    "rebalance_share": 1.0,
    # BTCUSDT at 60 000: a lot (0.001) is 60 USDT.
    "budget_notional": 600,  # 10 lots of inventory
    "symbol_floor_notional": 0,
    "symbol_cap_notional": 600,
    "gross": {"total": 420, "symbol_cap": 420},  # 7 lots: inventory plus one side's ladder
    "order_rate": {"total": 5, "symbol_cap": 5},  # one requote (2 actions) every 400 ms
}


async def test_a_gross_share_too_small_for_the_ladder_shrinks_it_and_the_rate_sets_requotes(
    rig: Rig,
) -> None:
    btc = InstrumentDefinition(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        base_coin="BTC",
        quote_coin="USDT",
        status="Trading",
        tick_size="0.1",
        lot_size="0.001",
        min_qty_lots=1,
        max_qty_lots=1_000_000,
        min_notional="5",
    )
    await store_instrument(rig.js, btc)  # the allocator turns notional into lots on its grid
    await rig.start_policy(**BUDGETS)
    # A minute whose fills earned their rebate (net edge +0.5 bps): no rule speaks for size.
    row = msgspec.structs.replace(
        rig.toxic_row(markout="0"), side="all", mid_end_half_ticks=1_200_000
    )
    await rig.kpi(row)
    entry = await eventually(rig.quoter_entry, timeout=10, interval=0.25)
    # The ladder (4 lots a side) plus 50 lots of inventory is 54 lots against a share of 7. The
    # allocator asks size 3 (3 + 3 <= 7), but with the inventory as it stands (50) no size fits,
    # so the size falls its largest step (to 2); the inventory falls to what the ladder as it
    # stands leaves (7 - 4 = 3): 2 + 3 lots, within the share. 5 actions/s at 2 actions a
    # requote is one requote per 400 ms.
    assert entry == {"level_size_lots": 2, "max_inventory_lots": 3, "min_requote_interval_ms": 400}
    [applied] = await rig.stage("applied")
    assert applied.rule == "allocator"
    assert applied.old_values == {
        "level_size_lots": "4",
        "max_inventory_lots": "50",
        "min_requote_interval_ms": "0",
    }

"""The executor on a spot symbol: its own grid, amends in place, no position query."""

from __future__ import annotations

import json
from typing import Any

from mm_runtime.testing import eventually

SYMBOL = "BTCUSDT"


async def _spot_touch(harness: Any) -> tuple[int, int]:
    book = await harness.sim.admin.book(SYMBOL, category="spot", depth=1)
    return round(float(book["b"][0][0]) * 100), round(float(book["a"][0][0]) * 100)


async def _venue(harness: Any) -> set[tuple[str, str, int, int]]:
    orders = await harness.api.open_orders("spot", SYMBOL)
    return {
        (
            order.order_link_id,
            order.side.lower(),
            round(float(order.price) * 100),
            round(float(order.leaves_qty) * 1_000_000),
        )
        for order in orders
    }


async def _executor(harness: Any) -> set[tuple[str, str, int, int]]:
    rows = json.loads((await harness.status())[f"orders.{SYMBOL}"])
    return {(row[0], row[1], row[2], row[3] - row[4]) for row in rows}


async def test_spot_targets_rest_and_move_by_amend(harness: Any) -> None:
    settings = harness.settings(venue={"category": "spot", "dcp_window_s": 0})
    service = await harness.start_executor(settings)
    bid, ask = await _spot_touch(harness)
    await harness.heartbeat()
    await harness.target([(bid - 5, 100)], [(ask + 5, 100)], category="spot")
    await eventually(lambda: _shape_is(harness, {("buy", bid - 5), ("sell", ask + 5)}), timeout=10)
    await harness.target([(bid - 9, 100)], [(ask + 9, 100)], category="spot")
    await eventually(lambda: _shape_is(harness, {("buy", bid - 9), ("sell", ask + 9)}), timeout=10)
    amends = service._runtime.registry.get_sample_value(
        "mm_executor_venue_actions_total", {"kind": "amend", "outcome": "ok"}
    )
    assert amends == 2
    await eventually(lambda: _agree(harness), timeout=10)


async def _shape_is(harness: Any, expected: set[tuple[str, int]]) -> bool:
    return {(side, price) for _, side, price, _ in await _venue(harness)} == expected


async def _agree(harness: Any) -> bool:
    return bool(await _executor(harness) == await _venue(harness))

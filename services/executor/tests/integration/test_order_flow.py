"""The executor against the simulator: targets become resting orders with the fewest venue calls,
venue events reach the EXEC stream, and its view equals the venue's."""

from __future__ import annotations

from typing import Any

from mm_proto import OrderAccepted, OrderAmended, OrderCancelled
from mm_runtime.testing import eventually


def wanted(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> set[tuple[str, int, int]]:
    return {("buy", p, s) for p, s in bids} | {("sell", p, s) for p, s in asks}


def shape(orders: set[tuple[str, str, int, int]]) -> set[tuple[str, int, int]]:
    return {(side, price, leaves) for _, side, price, leaves in orders}


def counter(service: Any, name: str, **labels: str) -> float:
    value = service._runtime.registry.get_sample_value(name, labels)
    return float(value or 0.0)


async def test_target_becomes_resting_orders_and_small_moves_are_amended(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    bids, asks = [(bid - 2, 5), (bid - 3, 5)], [(ask + 2, 5), (ask + 3, 5)]
    await harness.heartbeat()
    await harness.target(bids, asks)
    await eventually(
        lambda: _venue_shape_is(harness, wanted(bids, asks)), timeout=10, message="orders rest"
    )
    creates = counter(service, "mm_executor_venue_actions_total", kind="create", outcome="ok")
    assert creates == 4

    moved_bids, moved_asks = [(bid - 4, 5), (bid - 5, 5)], [(ask + 4, 7), (ask + 5, 5)]
    await harness.target(moved_bids, moved_asks)
    await eventually(lambda: _venue_shape_is(harness, wanted(moved_bids, moved_asks)), timeout=10)
    amends = counter(service, "mm_executor_venue_actions_total", kind="amend", outcome="ok")
    assert amends == 4
    assert counter(service, "mm_executor_venue_actions_total", kind="create", outcome="ok") == 4
    await eventually(lambda: _views_agree(harness), timeout=10, message="executor = venue")

    events = await eventually(lambda: _events_with(harness, OrderAmended, 4), timeout=10)
    assert {type(event) for event in events} >= {OrderAccepted, OrderAmended}


async def test_cancel_all_target_and_shutdown_leave_no_orders(harness: Any) -> None:
    service = await harness.start_executor(harness.settings())
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)], cancel_all=True)
    await eventually(lambda: _count_is(harness, 0), timeout=10)
    cancelled = await eventually(lambda: _events_with(harness, OrderCancelled, 2), timeout=10)
    assert cancelled

    await harness.target([(bid - 3, 5)], [(ask + 3, 5)])
    await eventually(lambda: _count_is(harness, 2), timeout=10)
    await harness.stop_executor(service)
    assert await harness.venue_orders() == set()


async def _venue_shape_is(harness: Any, expected: set[tuple[str, int, int]]) -> bool:
    return shape(await harness.venue_orders()) == expected


async def _count_is(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _events_with(harness: Any, kind: type, count: int) -> list[Any]:
    events = await harness.stream("exec_order")
    return events if sum(isinstance(event, kind) for event in events) >= count else []


async def _views_agree(harness: Any) -> bool:
    return bool(await harness.executor_orders() == await harness.venue_orders())

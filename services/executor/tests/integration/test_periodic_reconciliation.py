"""The executor's periodic reconciliation against the simulator: a quiet symbol gets a clean fact
on its own; a difference a push settles within the confirmation delay is no mismatch; one that
stays is, and the venue's view is adopted."""

from __future__ import annotations

import asyncio
from typing import Any

from executor.service import ExecutorService
from mm_bybit.order_requests import CreateOrder
from mm_proto import ReconciliationResult
from mm_runtime.testing import eventually

CATEGORY, SYMBOL = "linear", "BTCUSDT"


async def _periodic(harness: Any, count: int) -> list[ReconciliationResult] | None:
    found = [r for r in await harness.stream("reconciliation") if r.reason == "periodic"]
    return found if len(found) >= count else None


async def _resting(harness: Any, count: int) -> bool:
    return len(await harness.venue_orders()) == count


async def _quoting(harness: Any, **settings: Any) -> tuple[ExecutorService, int, int]:
    service = await harness.start_executor(harness.settings(**settings))
    bid, ask = await harness.touch()
    await harness.heartbeat()
    await harness.target([(bid - 2, 5)], [(ask + 2, 5)])
    await eventually(lambda: _resting(harness, 2), timeout=10, message="orders rest")
    await eventually(
        lambda: all(not o.busy for o in service.own_orders[SYMBOL].orders.values()),
        timeout=10,
        message="the executor saw both confirmed",
    )
    return service, bid, ask


async def test_a_quiet_symbol_gets_a_clean_fact_every_interval_without_a_resubscribe(
    harness: Any,
) -> None:
    service, _, _ = await _quoting(harness, reconciliation_interval_s=10.0)
    found = await eventually(lambda: _periodic(harness, 1), timeout=20, message="a periodic fact")
    assert [(r.symbol, r.outcome, r.detail) for r in found] == [(SYMBOL, "clean", "")]
    held = service._runtime.registry.get_sample_value(  # type: ignore[union-attr]
        "mm_executor_reconciliation_hold_seconds_count", {}
    )
    assert (held or 0) >= 1  # how long it held the worker is on /metrics


async def test_a_difference_a_push_settles_before_the_confirmation_is_no_mismatch(
    harness: Any,
) -> None:
    service, _, _ = await _quoting(harness, reconciliation_interval_s=0.0)
    periodic = service._periodic_reconciliation()
    periodic.confirm_after_s = 1.0
    order = next(iter(service.own_orders[SYMBOL].orders.values()))
    true_price = order.price_ticks
    order.price_ticks = true_price - 1  # as if the venue's amend push had not arrived yet

    def push_arrives() -> None:
        order.price_ticks = true_price

    asyncio.get_running_loop().call_later(0.3, push_arrives)
    await periodic.once()
    found = await eventually(lambda: _periodic(harness, 1), timeout=10, message="a fact")
    assert [(r.outcome, r.corrected, r.detail) for r in found] == [("clean", 0, "")]


async def test_a_difference_still_there_after_the_confirmation_is_a_mismatch_and_adopted(
    harness: Any,
) -> None:
    service, bid, _ = await _quoting(harness, reconciliation_interval_s=0.0)
    periodic = service._periodic_reconciliation()
    periodic.confirm_after_s = 0.5
    order = next(iter(service.own_orders[SYMBOL].orders.values()))
    true_price = order.price_ticks
    order.price_ticks = true_price - 1  # our view drifted and no push will fix it
    foreign = await harness.api.send_order(
        CreateOrder(
            category=CATEGORY, symbol=SYMBOL, side="Buy", order_type="Limit", qty="0.005",
            price=f"{(bid - 20) / 10:.1f}", time_in_force="PostOnly", order_link_id="manual-2",
        )
    )  # fmt: skip
    await periodic.once()
    found = await eventually(lambda: _periodic(harness, 1), timeout=10, message="a fact")
    result = found[0]
    assert (result.outcome, result.corrected, result.foreign) == ("mismatch", 1, 1)
    assert f"corrected: {order.client_order_id}" in result.detail
    assert f"foreign: {foreign.order_id}" in result.detail
    assert order.price_ticks == true_price  # the venue's view adopted
    await eventually(lambda: _resting(harness, 2), timeout=10, message="foreign one cancelled")

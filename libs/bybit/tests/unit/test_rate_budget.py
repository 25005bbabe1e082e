"""The rate budget waits instead of overrunning, keeps slots for cancels and follows the headers."""

import asyncio
import time

import pytest

from mm_bybit.rate_budget import (
    EndpointBudget,
    Priority,
    RateBudget,
    parse_limit_headers,
    priority_for_path,
)


async def test_creates_leave_the_reserve_to_cancels() -> None:
    budget = EndpointBudget("orders", limit=10, window_s=60.0)
    for _ in range(8):
        await budget.acquire(Priority.CREATE)
    assert budget.available(Priority.CREATE) == 0
    assert budget.available(Priority.CANCEL) == 2
    await asyncio.wait_for(budget.acquire(Priority.CANCEL), timeout=1.0)


async def test_a_waiting_cancel_is_served_before_waiting_creates() -> None:
    budget = EndpointBudget("orders", limit=5, window_s=0.05)
    for _ in range(5):
        await budget.acquire(Priority.CANCEL)
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(name)
        budget.release()

    creates = [asyncio.create_task(take(f"create-{n}", Priority.CREATE)) for n in range(3)]
    await asyncio.sleep(0)
    cancel = asyncio.create_task(take("cancel", Priority.CANCEL))
    for _ in range(5):
        budget.release()
    await asyncio.wait_for(asyncio.gather(*creates, cancel), timeout=5.0)
    assert order[0] == "cancel"
    assert sorted(order[1:]) == ["create-0", "create-1", "create-2"]


async def test_a_burst_never_exceeds_the_limit_in_any_window() -> None:
    window = 0.05
    budget = EndpointBudget("orders", limit=10, window_s=window)
    grants: list[float] = []

    async def one(priority: Priority) -> None:
        await budget.acquire(priority)
        grants.append(time.monotonic())
        budget.release()

    priorities = [Priority.CANCEL if n % 3 == 0 else Priority.CREATE for n in range(50)]
    await asyncio.wait_for(asyncio.gather(*(one(p) for p in priorities)), timeout=10.0)
    assert len(grants) == 50
    grants.sort()
    for index, start in enumerate(grants):
        in_window = [t for t in grants[index:] if t < start + window]
        assert len(in_window) <= 10


async def test_headers_count_use_the_client_did_not_see() -> None:
    budget = EndpointBudget("orders", limit=10, window_s=60.0)
    budget.update_from_headers(limit=20, remaining=5)
    assert budget.limit == 20
    assert budget.used() == 15


async def test_a_rate_limit_reset_blocks_the_bucket_until_then() -> None:
    wall_ms = 1_000_000
    budget = EndpointBudget("orders", limit=10, window_s=1.0, wall_clock_ms=lambda: wall_ms)
    budget.block_until(wall_ms + 100)
    assert budget.available(Priority.CANCEL) == 0
    started = time.monotonic()
    await asyncio.wait_for(budget.acquire(Priority.CANCEL), timeout=5.0)
    assert time.monotonic() - started >= 0.09


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    budget = EndpointBudget("orders", limit=2, window_s=60.0)
    await budget.acquire(Priority.CANCEL)
    await budget.acquire(Priority.CANCEL)
    waiter = asyncio.create_task(budget.acquire(Priority.CANCEL))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    budget.release(used=False)
    assert budget.used() == 1


async def test_acquiring_more_than_the_limit_is_refused() -> None:
    budget = EndpointBudget("orders", limit=3)
    with pytest.raises(ValueError, match=r"at most 3 for CANCEL on orders \(limit 3\), was 4"):
        await budget.acquire(Priority.CANCEL, count=4)


async def test_a_create_count_inside_the_cancel_reserve_is_refused_instead_of_waiting_forever() -> (
    None
):
    budget = EndpointBudget("orders", limit=10)  # 2 slots are kept for cancels
    assert budget.largest_grant(Priority.CREATE) == 8
    assert budget.largest_grant(Priority.CANCEL) == 10
    with pytest.raises(ValueError, match="at most 8 for CREATE"):
        await asyncio.wait_for(budget.acquire(Priority.CREATE, count=9), 1)
    await budget.acquire(Priority.CREATE, count=8)
    assert budget.used() == 8


def test_batch_size_is_what_the_paths_bucket_can_grant_at_once() -> None:
    budgets = RateBudget()
    assert budgets.batch_size("/v5/order/create-batch") == 10  # no cancel draws there
    assert budgets.batch_size("/v5/order/cancel-batch") == 10
    shared = RateBudget(shared_order_bucket=True)
    assert shared.batch_size("/v5/order/create-batch") == 8  # 2 of 10 kept for cancels
    assert shared.batch_size("/v5/order/cancel-batch") == 10


@pytest.mark.parametrize("path", ["/v5/order/amend", "/v5/order/amend-batch", "/v5/order/create"])
async def test_a_bucket_no_cancel_draws_from_gives_amends_and_creates_its_whole_limit(
    path: str,
) -> None:
    budgets = RateBudget(window_s=60.0)
    for _ in range(10):  # the venue's default limit: all ten leave at once, none waits
        await asyncio.wait_for(budgets.bucket(path).acquire(Priority.CREATE), timeout=1.0)
    assert budgets.bucket(path).available(Priority.CREATE) == 0
    assert budgets.headroom()[path] == 0.0


async def test_the_shared_order_bucket_still_keeps_its_reserve_for_cancels() -> None:
    budgets = RateBudget(shared_order_bucket=True, window_s=60.0)
    bucket = budgets.bucket("/v5/order/amend")
    for _ in range(8):
        await bucket.acquire(Priority.CREATE)
    assert bucket.available(Priority.CREATE) == 0
    assert bucket.available(Priority.CANCEL) == 2


async def test_shared_order_bucket_puts_creates_and_cancels_in_one_budget() -> None:
    budgets = RateBudget(shared_order_bucket=True)
    assert budgets.bucket("/v5/order/create") is budgets.bucket("/v5/order/cancel")
    assert budgets.bucket("/v5/position/list") is not budgets.bucket("/v5/order/cancel")
    separate = RateBudget()
    assert separate.bucket("/v5/order/create") is not separate.bucket("/v5/order/cancel")


async def test_slot_releases_even_when_the_request_fails() -> None:
    budgets = RateBudget(limits={"/v5/order/cancel": 1})
    with pytest.raises(RuntimeError):
        async with budgets.slot("/v5/order/cancel"):
            raise RuntimeError("request failed")
    assert budgets.bucket("/v5/order/cancel").used() == 1


def test_paths_map_to_priorities() -> None:
    assert priority_for_path("/v5/order/cancel") is Priority.CANCEL
    assert priority_for_path("/v5/order/cancel-batch") is Priority.CANCEL
    assert priority_for_path("/v5/order/amend") is Priority.CREATE
    assert priority_for_path("/v5/position/list") is Priority.QUERY


def test_limit_headers_parse_case_insensitively_and_ignore_garbage() -> None:
    assert parse_limit_headers(
        {"X-Bapi-Limit": "10", "x-bapi-limit-status": "9", "X-Bapi-Limit-Reset-Timestamp": "17"}
    ) == (10, 9, 17)
    assert parse_limit_headers({"X-Bapi-Limit": "ten"}) == (None, None, None)


async def test_headroom_is_the_free_share_of_each_bucket_in_use() -> None:
    budget = RateBudget(limits={"/v5/order/create": 10}, window_s=60.0)
    assert budget.headroom() == {}
    bucket = budget.bucket("/v5/order/create")
    for _ in range(8):
        await bucket.acquire(Priority.CREATE)
    assert budget.headroom() == {"/v5/order/create": pytest.approx(0.2)}

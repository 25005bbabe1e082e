"""Two executors in lease mode on one account: only the lease holder writes a symbol; a holder
that stops renewing is taken over, its orders cancelled by the new owner and their ends stored
in EXEC once; the old holder sends no create or amend after it."""

from __future__ import annotations

import time

import pytest

from executor.service import ExecutorService
from mm_proto import OrderAccepted, OrderCancelled
from mm_runtime.settings import LeaseSettings
from mm_runtime.symbol_lease import preferred_replica
from mm_runtime.testing import eventually

from .conftest import SYMBOL, Harness

REPLICAS = ["1", "2"]
LEASE = {"enabled": True, "replicas": REPLICAS, "ttl_s": 1.2, "margin_s": 0.2}
HOLDER = preferred_replica(SYMBOL, REPLICAS)
OTHER = next(name for name in REPLICAS if name != HOLDER)


def owners(orders: set[tuple[str, str, int, int]]) -> set[str]:
    return {link_id.split("-")[1] for link_id, *_ in orders}


async def start(harness: Harness, instance: str) -> ExecutorService:
    return await harness.start_executor(harness.settings(instance_id=instance, lease=LEASE))


async def quote(harness: Harness) -> None:
    bid, ask = await harness.touch()
    await harness.target([(bid - 5, 2), (bid - 6, 2)], [(ask + 5, 2), (ask + 6, 2)])


async def test_only_the_holder_writes_and_a_silent_holder_is_taken_over_with_one_writer(
    harness: Harness,
) -> None:
    holder, other = await start(harness, HOLDER), await start(harness, OTHER)
    await eventually(lambda: holder.shards.may_write(SYMBOL), timeout=5)
    await quote(harness)
    await eventually(lambda: _owned_by(harness, {HOLDER}), timeout=10, message="holder quotes")
    assert not other.shards.may_write(SYMBOL)
    assert holder.shards.keeper is not None
    holder.shards.keeper.paused = True  # stops renewing, as a frozen or cut-off process would
    paused_ms = time.time_ns() // 1_000_000
    await eventually(lambda: other.shards.may_write(SYMBOL), timeout=5, message="takeover")
    assert not holder.shards.may_write(SYMBOL)
    await quote(harness)
    await eventually(lambda: _owned_by(harness, {OTHER}), timeout=10, message="new owner quotes")
    await quote(harness)  # both replicas receive it; only the new owner may act on it
    await eventually(lambda: _owned_by(harness, {OTHER}), timeout=10)
    rows = (await harness.sim.admin.requests())["list"]
    late = [
        row["orderLinkId"]
        for row in rows
        if row["ts_ms"] > paused_ms + 1200 and row["orderLinkId"].split("-")[1] == HOLDER
    ]
    assert late == []
    await _every_order_of_ends_once(harness, HOLDER)
    status = await harness.status()
    assert '"ours"' in status["leases"]


async def test_the_orders_of_a_gone_holder_end_in_exec_through_the_replica_that_took_over(
    harness: Harness,
) -> None:
    holder = await harness.start_executor(
        harness.settings(instance_id=HOLDER, lease=LEASE, cancel_on_shutdown=False)
    )
    await eventually(lambda: holder.shards.may_write(SYMBOL), timeout=5)
    await quote(harness)
    await eventually(lambda: _owned_by(harness, {HOLDER}), timeout=10, message="holder quotes")
    assert holder.shards.keeper is not None
    holder.shards.keeper.paused = True  # gone without a word: no release, no cancel
    await harness.stop_executor(holder)
    assert owners(await harness.venue_orders()) == {HOLDER}  # left resting at the venue
    other = await start(harness, OTHER)
    await eventually(lambda: other.shards.may_write(SYMBOL), timeout=5, message="takeover")
    await quote(harness)
    await eventually(lambda: _owned_by(harness, {OTHER}), timeout=10, message="new owner quotes")
    await _every_order_of_ends_once(harness, HOLDER)


async def _every_order_of_ends_once(harness: Harness, instance: str) -> None:
    async def ends() -> tuple[list[str], list[str]]:
        events = await harness.stream("exec_order")
        ids = [
            (type(e), e.client_order_id) for e in events if _owner(e.client_order_id) == instance
        ]
        accepted = sorted({key for kind, key in ids if kind is OrderAccepted})
        ended = sorted(key for kind, key in ids if kind is OrderCancelled and key in accepted)
        return accepted, ended

    accepted, ended = await eventually(lambda: _agree(ends), timeout=5, message="order ends")
    assert accepted
    assert ended == accepted


def _owner(client_order_id: str) -> str:
    parts = client_order_id.split("-")
    return parts[1] if len(parts) > 2 else ""


async def _agree(ends):  # type: ignore[no-untyped-def]
    accepted, ended = await ends()
    return (accepted, ended) if accepted and ended == accepted else None


async def _owned_by(harness: Harness, wanted: set[str]) -> bool:
    orders = await harness.venue_orders()
    return bool(orders) and owners(orders) == wanted


def test_lease_settings_must_name_this_instance_and_keep_the_margin_below_a_third() -> None:
    LeaseSettings(enabled=True, replicas=["a"]).check("a")
    with pytest.raises(ValueError, match=r"lease\.replicas"):
        LeaseSettings(enabled=True, replicas=["a", "b"]).check("c")
    with pytest.raises(ValueError, match=r"lease\.margin_s"):
        LeaseSettings(enabled=True, replicas=["a"], ttl_s=1.0, margin_s=0.5).check("a")
    LeaseSettings(enabled=False, replicas=[]).check("c")  # off: nothing to check

"""Symbol leases against a real nats-server: takeover after a death or a freeze, contention,
the store going away, bad values in the key."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import pytest
from nats.aio.client import Client
from prometheus_client import CollectorRegistry

from mm_proto import subjects
from mm_runtime.jetstream import ensure_layout, key_value
from mm_runtime.lease_keeper import LeaseKeeper, LeaseMetrics
from mm_runtime.symbol_lease import LeaseTiming, decode_record, preferred_replica
from mm_runtime.testing import NatsServer, eventually

TIMING = LeaseTiming(ttl_s=1.2, margin_s=0.2)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT"]
REPLICAS = ["a", "b"]


@dataclass
class Replica:
    keeper: LeaseKeeper
    registry: CollectorRegistry
    acquired: list[tuple[str, int]] = field(default_factory=list)
    lost: list[tuple[str, str]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.keeper.run())

    async def kill(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


def replica(client: Client, name: str, replicas: list[str] = REPLICAS) -> Replica:
    registry = CollectorRegistry()

    async def bucket():  # type: ignore[no-untyped-def]
        return await key_value(client.jetstream(), subjects.LEASE_BUCKET)

    holder = Replica(None, registry)  # type: ignore[arg-type]

    async def on_acquired(symbol: str, epoch: int) -> None:
        holder.acquired.append((symbol, epoch))

    def on_lost(symbol: str, reason: str) -> None:
        holder.lost.append((symbol, reason))

    holder.keeper = LeaseKeeper(
        bucket, "executor", (name, f"boot-{name}"), SYMBOLS, replicas, TIMING,
        LeaseMetrics(registry), on_acquired, on_lost,
    )  # fmt: skip
    return holder


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_server.url, max_reconnect_attempts=0)
    await ensure_layout(connection.jetstream())
    yield connection
    with contextlib.suppress(Exception):
        await connection.close()


def share(name: str) -> set[str]:
    return {symbol for symbol in SYMBOLS if preferred_replica(symbol, REPLICAS) == name}


def never_both(a: Replica, b: Replica) -> None:
    both = set(a.keeper.owned()) & set(b.keeper.owned())
    assert not both, f"two writers for {both}"


async def test_each_replica_holds_its_share_and_the_survivor_takes_the_dead_ones_after_ttl(
    client: Client,
) -> None:
    a, b = replica(client, "a"), replica(client, "b")
    a.start(), b.start()
    await eventually(lambda: set(a.keeper.owned()) == share("a"), timeout=5)
    await eventually(lambda: set(b.keeper.owned()) == share("b"), timeout=5)
    assert a.metric("mm_lease_owned_symbols", service="executor") == len(share("a"))
    await b.kill()
    killed_at = time.monotonic()
    await eventually(lambda: set(a.keeper.owned()) == set(SYMBOLS), timeout=5)
    took = time.monotonic() - killed_at
    assert took <= TIMING.ttl_s + 2 * TIMING.poll_every_s + 0.5
    epochs = dict(a.acquired)
    assert all(epochs[symbol] == 2 for symbol in share("b"))  # fencing token moved on
    await a.kill()


async def test_a_frozen_holder_stops_writing_before_the_other_takes_over_and_learns_it_lost(
    client: Client,
) -> None:
    a, b = replica(client, "a"), replica(client, "b")
    a.start(), b.start()
    await eventually(lambda: set(b.keeper.owned()) == share("b"), timeout=5)
    b.keeper.paused = True  # no renew goes out, as in a SIGSTOPped process
    frozen_at = time.monotonic()
    while time.monotonic() - frozen_at < TIMING.ttl_s + 1.0:
        never_both(a, b)
        await asyncio.sleep(0.01)
    assert b.keeper.owned() == []  # ran out locally: its writers are refused
    assert set(a.keeper.owned()) == set(SYMBOLS)
    b.keeper.paused = False  # wakes up
    await eventually(lambda: len(b.lost) >= len(share("b")), timeout=3)
    never_both(a, b)
    assert b.keeper.owned() == []
    await a.kill(), await b.kill()


async def test_many_contenders_for_a_released_key_leave_exactly_one_holder(
    client: Client,
) -> None:
    names = [f"r{index}" for index in range(5)]
    replicas = [replica(client, name, names) for name in names]
    for each in replicas:
        each.keeper.leases = {"BTCUSDT": each.keeper.leases["BTCUSDT"]}
    await asyncio.gather(*(each.keeper.tick() for each in replicas))
    holders = [each for each in replicas if each.keeper.valid("BTCUSDT")]
    assert len(holders) == 1
    await holders[0].keeper.release_all()
    await asyncio.gather(*(each.keeper.tick() for each in replicas))
    holders = [each for each in replicas if each.keeper.valid("BTCUSDT")]
    assert len(holders) == 1
    assert holders[0].keeper.epoch("BTCUSDT") == 2


async def test_a_holder_cut_off_from_the_store_stops_writing_within_the_ttl(
    nats_server: NatsServer, client: Client
) -> None:
    a = replica(client, "a", ["a"])
    a.start()
    await eventually(lambda: set(a.keeper.owned()) == set(SYMBOLS), timeout=5)
    nats_server.stop()
    stopped_at = time.monotonic()
    await eventually(lambda: a.keeper.owned() == [], timeout=TIMING.ttl_s + 1)
    assert time.monotonic() - stopped_at <= TIMING.ttl_s
    await eventually(lambda: len(a.lost) == len(SYMBOLS), timeout=2)
    assert all(reason.startswith("cannot renew") for _, reason in a.lost)
    assert a.keeper.status()["BTCUSDT"]["store_error"]
    await a.kill()


async def test_a_garbage_value_is_counted_never_taken_as_ours_and_overwritten_after_ttl(
    client: Client,
) -> None:
    bucket = await key_value(client.jetstream(), subjects.LEASE_BUCKET)
    await bucket.put("executor.BTCUSDT", b"\x00garbage")
    a = replica(client, "a", ["a"])
    a.start()
    await eventually(lambda: a.keeper.valid("ETHUSDT"), timeout=3)
    assert not a.keeper.valid("BTCUSDT")
    assert a.metric("mm_lease_events_total", service="executor", event="bad_value") >= 1
    await eventually(lambda: a.keeper.valid("BTCUSDT"), timeout=TIMING.ttl_s + 2)
    stored = decode_record((await bucket.get("executor.BTCUSDT")).value)
    assert stored is not None
    assert stored.holder == "a"
    await a.kill()


def test_an_instance_missing_from_the_replica_list_is_refused() -> None:
    with pytest.raises(ValueError, match="not in the replica list"):
        LeaseKeeper(
            lambda: None,  # type: ignore[arg-type,return-value]
            "executor", ("c", "boot"), SYMBOLS, REPLICAS, TIMING,
            LeaseMetrics(CollectorRegistry()), None, None,  # type: ignore[arg-type]
        )  # fmt: skip


async def test_a_takeover_the_owner_could_not_complete_leaves_the_symbol_unwritten_and_is_retried(
    client: Client,
) -> None:
    a = replica(client, "a", ["a"])
    refusals = [2]  # the owner's takeover fails twice (say the venue does not answer)

    async def flaky(symbol: str, epoch: int) -> None:
        if symbol == "BTCUSDT" and refusals[0] > 0:
            refusals[0] -= 1
            raise RuntimeError("venue did not answer")
        a.acquired.append((symbol, epoch))

    a.keeper._on_acquired = flaky
    await a.keeper.tick()
    assert not a.keeper.valid("BTCUSDT")
    assert a.keeper.valid("ETHUSDT")
    assert str(a.keeper.status()["BTCUSDT"]["lost_reason"]).startswith("takeover failed")
    for _ in range(4):
        await a.keeper.tick()
    assert a.keeper.valid("BTCUSDT")
    assert dict(a.acquired)["BTCUSDT"] == 3  # each attempt took the next epoch
    assert a.metric("mm_lease_events_total", service="executor", event="takeover_failed") == 2

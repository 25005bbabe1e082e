"""Two executor replicas sharing the symbols by lease: a frozen one and a killed one are taken
over, and the venue sees one writer per symbol.

Why the whole stack: the guarantee is about what reaches the venue from two real OS processes
(a SIGSTOP freezes every task of one, timers included), with real risk targets driving both and
the venue's own order history as the judge; no in-process test can freeze one replica alone.

Which replica holds BTCUSDT at the start is read from KV (each prefers one symbol; a replica
that starts late may find its share taken). Phase 1 freezes that executor past the lease's ttl,
then lets it run: the other quotes BTCUSDT meanwhile, and the woken replica sends no create or
amend for it. Phase 2 SIGKILLs the executor that now holds both symbols and the quoter of
ETHUSDT: the woken executor and the other quoter take everything. Each phase's takeover time is
printed. At the end: no fill lost or duplicated, positions equal the venue's, and every open
venue order belongs to the symbol's lease holder.
"""

from __future__ import annotations

import functools
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from mm_proto import QuoteIntent, decode, subjects
from mm_runtime.symbol_lease import decode_record
from mm_runtime.testing import eventually
from mm_sim.testing import Admin
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system]

TTL_S = 3.0  # mm_cli.local_stack.SHARD_LEASE_TTL_S
TAKEOVER_BOUND_S = TTL_S + 5.0
CATEGORY = "linear"
SYMBOLS = ("BTCUSDT", "ETHUSDT")
OTHER = {"1": "2", "2": "1"}


def owner(link_id: str) -> str:
    """`mm-<instance>-<boot>-<n>` -> the instance."""
    return link_id.split("-")[1] if link_id.count("-") >= 3 else ""


async def resting_owners(running: RunningStack, symbol: str) -> set[str]:
    orders = await running.audit.api.open_orders(CATEGORY, symbol)
    return {owner(order.order_link_id) for order in orders}


async def requests(running: RunningStack) -> list[dict[str, Any]]:
    layout = running.stack.layout
    token = layout.sim_admin_token_file.read_text(encoding="utf-8").strip()
    return list((await Admin(layout.sim_url, token).requests())["list"])


def writes_after_takeover(
    rows: list[dict[str, Any]], symbol: str, new: str, old: str, since_ms: int
) -> list[str]:
    """Creates and amends by `old` on `symbol` after `new`'s first write there since `since_ms`."""
    mine = [row for row in rows if row["symbol"] == symbol and row["ts_ms"] >= since_ms]
    first = next((row["seq"] for row in mine if owner(row["orderLinkId"]) == new), None)
    assert first is not None, f"{new} never wrote {symbol}"
    return [
        row["orderLinkId"]
        for row in mine
        if row["seq"] > first and owner(row["orderLinkId"]) == old
    ]


async def takeover(running: RunningStack, symbol: str, new: str) -> float:
    started = time.monotonic()

    async def quoted_by_new() -> bool:
        return new in await resting_owners(running, symbol)

    await eventually(quoted_by_new, timeout=TAKEOVER_BOUND_S, interval=0.1,
                     message=f"instance {new} quotes {symbol}")  # fmt: skip
    return time.monotonic() - started


async def holders(running: RunningStack, service: str) -> dict[str, str]:
    bucket = await running.client.jetstream().key_value(subjects.LEASE_BUCKET)
    found = {}
    for symbol in running.stack.options.symbols:
        record = decode_record((await bucket.get(f"{service}.{symbol}")).value)
        assert record is not None
        found[symbol] = record.holder
    return found


async def test_a_frozen_or_killed_replicas_symbols_move_and_the_venue_sees_one_writer(
    tmp_path: Path,
) -> None:
    running = await start_stack(tmp_path / "run", env=TRADING_ENV, shards=2)
    try:
        for symbol in SYMBOLS:
            await eventually(lambda s=symbol: _has(running, s), timeout=30,
                             message=f"{symbol} quoted")  # fmt: skip
        frozen = (await holders(running, "executor"))["BTCUSDT"]
        survivor = OTHER[frozen]
        # Phase 1: freeze the BTCUSDT writer past the ttl; the other replica takes it over.
        frozen_ms = time.time_ns() // 1_000_000
        running.stack.kill(child("executor", frozen), signal.SIGSTOP)
        took_frozen = await takeover(running, "BTCUSDT", survivor)
        # The takeover itself waited out the ttl, so the replica wakes with an expired lease.
        running.stack.kill(child("executor", frozen), signal.SIGCONT)
        await eventually(lambda: _has(running, "ETHUSDT", survivor), timeout=TAKEOVER_BOUND_S)
        rows = await requests(running)
        assert writes_after_takeover(rows, "BTCUSDT", survivor, frozen, frozen_ms) == []
        # Phase 2: kill the executor that now holds both, and the quoter of ETHUSDT; the woken
        # executor and the other quoter take everything.
        assert await holders(running, "executor") == dict.fromkeys(SYMBOLS, survivor)
        assert frozen not in await resting_owners(running, "ETHUSDT")
        quoter_killed = (await holders(running, "quoter"))["ETHUSDT"]
        intents: list[str] = []
        subscription = await running.client.subscribe(
            subjects.quote_intent("bybit", CATEGORY, "ETHUSDT"),
            cb=functools.partial(_note, intents),
        )
        killed_ms = time.time_ns() // 1_000_000
        running.stack.kill(child("executor", survivor), signal.SIGKILL)
        running.stack.kill(child("quoter", quoter_killed), signal.SIGKILL)
        took_killed = await takeover(running, "ETHUSDT", frozen)
        await eventually(lambda: OTHER[quoter_killed] in intents, timeout=TAKEOVER_BOUND_S,
                         message="the other quoter publishes ETHUSDT")  # fmt: skip
        await subscription.unsubscribe()
        await eventually(lambda: _has(running, "BTCUSDT", frozen), timeout=TAKEOVER_BOUND_S)
        rows = await requests(running)
        for symbol in SYMBOLS:
            assert writes_after_takeover(rows, symbol, frozen, survivor, killed_ms) == []
        print(f"takeover after SIGSTOP {took_frozen:.2f} s, after SIGKILL {took_killed:.2f} s")
        findings = await running.audit.audit(settle_s=10)
        assert not findings.lost_fills, findings.describe()
        assert not findings.duplicate_fills, findings.describe()
        assert not findings.position_mismatches, findings.describe()
        quoters = await holders(running, "quoter")
        assert quoters == dict.fromkeys(SYMBOLS, OTHER[quoter_killed])
        held = await holders(running, "executor")
        assert held == dict.fromkeys(SYMBOLS, frozen)  # the restarted replica does not take back
        for symbol in SYMBOLS:
            assert await resting_owners(running, symbol) <= {frozen}
    finally:
        await stop_stack(running)


def child(service: str, instance: str) -> str:
    """The supervisor's child of a replica (`mm_cli.local_stack.shard_specs`)."""
    return service if instance == "1" else f"{service}-{instance}"


async def _note(intents: list[str], msg: Msg) -> None:
    intents.append(decode(msg.data, QuoteIntent).intent_id.split("-")[0])


async def _has(running: RunningStack, symbol: str, instance: str = "") -> bool:
    try:
        owners = await resting_owners(running, symbol)
        return instance in owners if instance else bool(owners)
    except Exception:  # the venue's REST is still starting
        return False

"""The real quoter and the real policy in-process against a real nats-server, and a test client
that feeds KPI rows, sets the kill switch and reads stream POLICY back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    HaltState,
    KpiSnapshot,
    PolicyDecision,
    StatusRequest,
    decode,
    encode,
    subjects,
)
from mm_runtime.jetstream import ensure_layout, key_value, publish_fact
from mm_runtime.lifecycle import serve
from mm_runtime.settings import load_settings
from mm_runtime.testing import NatsServer, eventually
from policy.service import PolicyService
from policy.settings import PolicySettings
from quoter.service import QuoterService
from quoter.settings import QuoterSettings

VENUE, CATEGORY, SYMBOL = "bybit", "linear", "BTCUSDT"
NS = 1_000_000_000
BTC = {
    "symbol": SYMBOL,
    "tick_size": "0.1",
    "lot_size": "0.001",
    "min_qty": "0.001",
    "min_notional": "5",
    "maker_fee_rate": "-0.0001",
}
QUOTER_PARAMS = {"min_spread_bps": 2.0, "level_size_lots": 4, "max_inventory_lots": 50}
# Quick rounds, no rate limit between changes, and the spread's home where the quoter starts.
POLICY_PARAMS: dict[str, Any] = {
    "mode": "on",
    "spread": {"floor": 1, "home": 2, "ceiling": 8, "max_step": 1, "min_interval_s": 0},
    "size": {"floor": 1, "home": 4, "ceiling": 10, "max_step": 2, "min_interval_s": 0},
    "min_fills": 1,
    "stale_after_s": 30,
}


@dataclass
class Rig:
    """The test's side of the bus and the services it started."""

    url: str
    client: Client
    js: JetStreamContext
    running: list[tuple[asyncio.Event, asyncio.Task[Any]]] = field(default_factory=list)
    rows: int = 0

    @staticmethod
    def toxic_row(markout: str = "-0.5", side: str = "buy") -> KpiSnapshot:
        """A minute in which 1 000 USDT traded at a 10 s markout of `markout` USDT (-5 bps) and
        earned a 0.05 USDT rebate (0.5 bps): a net edge of -4.5 bps."""
        now = time.time_ns()
        return KpiSnapshot(
            venue=VENUE,
            category=CATEGORY,
            symbol=SYMBOL,
            side=side,
            ts_start_ns=now - 60 * NS,
            ts_end_ns=now,
            fills=10,
            notional="1000",
            fee_pnl="0.05",
            markout_quote={"10s": markout},
            markout_notional={"10s": "1000"},
            markout_fills={"10s": 10},
        )

    async def start_quoter(self) -> None:
        settings = load_settings(
            QuoterSettings,
            nats={"url": self.url},
            instruments=[BTC],
            params=QUOTER_PARAMS,
            bind_retry_s=0.1,
        )
        await self._run(QuoterService(settings), settings)

    async def start_policy(self, interval_s: float = 0.25, **params: Any) -> PolicyService:
        settings = load_settings(
            PolicySettings,
            nats={"url": self.url},
            symbols=[SYMBOL],
            evaluate_interval_s=interval_s,  # the quoter's config-get allows 5/s
            bind_retry_s=0.1,
            params={**POLICY_PARAMS, **params},
        )
        service = PolicyService(settings)
        await self._run(service, settings)
        return service

    async def _run(self, service: Any, settings: Any) -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(service, settings, stop, ready))
        self.running.append((stop, task))
        await asyncio.wait_for(ready.wait(), timeout=10)

    async def stop_last(self) -> None:
        stop, task = self.running.pop()
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    async def stop_all(self) -> None:
        while self.running:
            await self.stop_last()

    async def kpi(self, row: KpiSnapshot) -> None:
        self.rows += 1
        await publish_fact(self.js, subjects.kpi(VENUE, CATEGORY, SYMBOL), row, f"t{self.rows}")

    async def halt(self, halted: bool) -> None:
        bucket = await key_value(self.js, subjects.RISK_BUCKET)
        state = HaltState(halted=halted, reason="drill", by="alice", ts_changed_ns=time.time_ns())
        await bucket.put(subjects.HALT_KEY, encode(state))

    async def ctl(self, service: str, verb: str, request: Any) -> CtlReply:
        reply = await self.client.request(subjects.ctl(service, verb), encode(request), timeout=5)
        return decode(reply.data, CtlReply)

    async def quoter_entry(self) -> dict[str, Any]:
        reply = await self.ctl("quoter", "config-get", ConfigGetRequest(key="quoter"))
        assert reply.ok, reply.message
        return json.loads(reply.data.get(f"quoter.{SYMBOL}", "{}"))  # type: ignore[no-any-return]

    async def set_by_hand(self, value: dict[str, Any]) -> None:
        request = ConfigSetRequest(key=f"quoter.{SYMBOL}", value=json.dumps(value))
        reply = await self.ctl("quoter", "config-set", request)
        assert reply.ok, reply.message
        # The store answered; the quoter's view (what config-get, and so the policy, reads) follows
        # its KV watch a moment later. The tests' premise is a hand edit made before the policy
        # reads, so wait for the view to hold it.
        await eventually(
            lambda: self._entry_holds(value), timeout=5, message="the quoter sees the hand edit"
        )

    async def _entry_holds(self, value: dict[str, Any]) -> bool:
        entry = await self.quoter_entry()
        return all(entry.get(name) == wanted for name, wanted in value.items())

    async def status(self) -> dict[str, str]:
        return (await self.ctl("policy", "status", StatusRequest())).data

    async def decisions(self) -> list[PolicyDecision]:
        try:
            info = await self.js.stream_info(subjects.POLICY_STREAM)
        except NotFoundError:
            return []
        found = []
        for sequence in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            raw = await self.js.get_msg(subjects.POLICY_STREAM, sequence)
            found.append(decode(raw.data or b"", PolicyDecision))
        return found

    async def stage(self, stage: str) -> list[PolicyDecision]:
        return [d for d in await self.decisions() if d.stage == stage]


@pytest.fixture
async def rig(nats_server: NatsServer) -> AsyncIterator[Rig]:
    """Streams and buckets exist and the quoter runs; the policy is started by each test."""
    client = await nats.connect(nats_server.url)
    rig = Rig(nats_server.url, client, client.jetstream())
    await ensure_layout(rig.js)
    await rig.start_quoter()
    yield rig
    await rig.stop_all()
    await client.drain()

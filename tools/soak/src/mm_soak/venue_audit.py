"""The venue's truth against the bus's: orphan orders, lost, duplicated or altered fills, positions.

Three sources are compared: the simulator (its admin executions list and, over the account's
signed REST, open orders and positions), the EXEC JetStream stream the executor writes, and the
executor's own view (`ctl.executor.status`). The stack keeps trading while it is audited, so each
check is retried until it holds or its settle time runs out; what is still wrong then is reported.
A fill is matched by its execution id and then compared field by field (symbol, side, price,
quantity, fee): an id that the stream holds with other contents (a fill of an earlier venue
whose ids repeat, a mangled conversion) is reported, not counted as agreement.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import nats.errors
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError, NotFoundError
from pydantic import SecretStr

from mm_bybit import raw
from mm_bybit.api import BybitRestApi
from mm_bybit.convert import fill_from_execution, instrument_definition
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import BybitError
from mm_bybit.rest import RestClient
from mm_proto import (
    CtlReply,
    Fill,
    HaltState,
    InstrumentDefinition,
    Position,
    StatusRequest,
    decode,
    encode,
    subjects,
)

CATEGORY = "linear"
EXECUTIONS = raw.decoder(raw.Page[raw.Execution])  # the simulator's admin executions list


@dataclass
class AuditFindings:
    """What disagreed; empty lists mean the venue and the bus agree."""

    orphan_orders: list[str] = field(default_factory=list)
    lost_fills: list[str] = field(default_factory=list)
    duplicate_fills: list[str] = field(default_factory=list)
    altered_fills: list[str] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)
    venue_fills: int = 0
    stream_fills: int = 0
    venue_open_orders: int = 0
    unreadable: str = ""  # why a source could not be read ("" when all were)

    @property
    def ok(self) -> bool:
        return not (
            self.unreadable
            or self.orphan_orders
            or self.lost_fills
            or self.duplicate_fills
            or self.altered_fills
            or self.position_mismatches
        )

    def describe(self) -> str:
        parts = [
            f"{name}: {values[:5]}{' …' if len(values) > 5 else ''} ({len(values)})"
            for name, values in (
                ("orphan orders", self.orphan_orders),
                ("lost fills", self.lost_fills),
                ("duplicate fills", self.duplicate_fills),
                ("fills that differ from the venue's", self.altered_fills),
                ("position mismatches", self.position_mismatches),
            )
            if values
        ]
        counts = (
            f"venue fills {self.venue_fills}, stream fills {self.stream_fills}, "
            f"venue open orders {self.venue_open_orders}"
        )
        if self.unreadable:
            parts.insert(0, f"unreadable: {self.unreadable}")
        return "; ".join(parts) + ("; " if parts else "agree: ") + counts


class VenueAudit:
    """Compares the simulator, the EXEC stream and the executor for one account and symbols."""

    def __init__(
        self,
        sim_url: str,
        api_key: str,
        api_secret: str,
        client: Client,
        symbols: list[str],
        admin_headers: dict[str, str] | None = None,
    ) -> None:
        self.sim_url = sim_url
        self.admin_headers = admin_headers or {}  # /sim/admin's token (see mm_sim.admin)
        self.client = client
        self.symbols = symbols
        self._rest = RestClient(
            sim_url, ApiCredentials(api_key=api_key, api_secret=SecretStr(api_secret))
        )
        self.api = BybitRestApi(self._rest)
        self._instruments: dict[str, InstrumentDefinition] = {}
        self._exec_facts: dict[int, Fill | Position] = {}  # EXEC sequence -> fact, read once
        self._exec_next = 0  # the next EXEC sequence to read

    async def close(self) -> None:
        await self._rest.aclose()

    async def audit(self, settle_s: float = 10.0) -> AuditFindings:
        """Retry until everything agrees or `settle_s` passes; the last findings either way."""
        deadline = time.monotonic() + settle_s
        while True:
            try:
                findings = await self.audit_once()
            except (nats.errors.Error, TimeoutError, aiohttp.ClientError, BybitError) as error:
                findings = AuditFindings(unreadable=f"{type(error).__name__}: {error}"[:300])
            if findings.ok or time.monotonic() >= deadline:
                return findings
            await asyncio.sleep(0.5)

    async def audit_once(self) -> AuditFindings:
        findings = AuditFindings()
        venue_fills = await self.venue_fills()
        stream_fills, positions = await self.stream_facts()
        findings.venue_fills, findings.stream_fills = len(venue_fills), len(stream_fills)
        seen: dict[str, Fill] = {}
        for fill in stream_fills:
            if fill.fill_id in seen:
                findings.duplicate_fills.append(fill.fill_id)
            seen.setdefault(fill.fill_id, fill)
        findings.lost_fills = sorted(set(venue_fills) - set(seen))
        for fill_id, venue_fill in sorted(venue_fills.items()):
            if fill_id in seen:
                difference = await self._fill_difference(venue_fill, seen[fill_id])
                if difference:
                    findings.altered_fills.append(f"{fill_id}: {difference}")
        findings.position_mismatches = await self._position_mismatches(positions)
        findings.orphan_orders = await self._orphans(findings)
        return findings

    async def venue_fills(self) -> dict[str, raw.Execution]:
        """Every trade execution of the account at the venue (uid 1001, the stack's account), by
        execution id, as the simulator records it (Bybit's execution rows, read by `mm_bybit`)."""
        url = f"{self.sim_url}/sim/admin/executions"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, params={"uid": "1001"}, headers=self.admin_headers) as reply,
        ):
            body = await reply.read()
        page = EXECUTIONS.decode(body)
        return {
            execution.exec_id: execution
            for execution in page.items
            if execution.exec_type == "Trade" and execution.category in ("", CATEGORY)
        }

    async def _fill_difference(self, venue: raw.Execution, fill: Fill) -> str:
        """What differs between the venue's execution and the stream's fill ("" when nothing)."""
        symbol = venue.symbol
        if symbol != fill.symbol or symbol not in self.symbols:
            return f"symbol venue {symbol!r}, EXEC {fill.symbol!r}"
        venue_fill = fill_from_execution(venue, await self.instrument(symbol), 0)
        expected = (
            venue_fill.side.value,
            venue_fill.price_ticks,
            venue_fill.size_lots,
            Decimal(venue_fill.fee),
        )
        found = (fill.side.value, fill.price_ticks, fill.size_lots, Decimal(fill.fee or "0"))
        names = ("side", "price ticks", "lots", "fee")
        return ", ".join(
            f"{name} venue {want}, EXEC {got}"
            for name, want, got in zip(names, expected, found, strict=True)
            if want != got
        )

    async def stream_facts(self) -> tuple[list[Fill], dict[str, Position]]:
        """Every fill on EXEC in order, and the last position per symbol.

        The audit runs again and again while a drill settles, over a stream that only grows, so
        what was read once is kept and only newer sequences are fetched: reading the whole stream
        each time made nats-server load every block again and again, and its resident memory
        grew with the stream through a soak. A stream that went backwards (recreated) is read
        afresh; sequences the stream's limits removed are dropped.
        """
        js = self.client.jetstream()
        try:
            info = await js.stream_info(subjects.EXEC_STREAM)
        except NotFoundError:
            return [], {}
        first, last = info.state.first_seq, info.state.last_seq
        if last < self._exec_next - 1:
            self._exec_facts.clear()
            self._exec_next = 0
        for sequence in [seq for seq in self._exec_facts if seq < first]:
            del self._exec_facts[sequence]
        for sequence in range(max(first, self._exec_next), last + 1):
            try:
                raw = await js.get_msg(subjects.EXEC_STREAM, sequence)
            except NotFoundError:
                continue
            parsed = subjects.parse(raw.subject or "")
            message = decode(raw.data or b"", parsed.message_type)
            if isinstance(message, Fill | Position):
                self._exec_facts[sequence] = message
        self._exec_next = max(self._exec_next, last + 1)
        fills: list[Fill] = []
        positions: dict[str, Position] = {}
        for message in self._exec_facts.values():  # insertion order is sequence order
            if isinstance(message, Fill):
                fills.append(message)
            else:
                positions[message.symbol] = message
        return fills, positions

    async def instrument(self, symbol: str) -> InstrumentDefinition:
        if symbol not in self._instruments:
            items = await self.api.instruments(CATEGORY, symbol)
            self._instruments[symbol] = instrument_definition(items[0], CATEGORY)
        return self._instruments[symbol]

    async def venue_positions(self) -> dict[str, int]:
        """Signed position size in lots per symbol, as the venue holds it."""
        sizes: dict[str, int] = {}
        for position in await self.api.positions(CATEGORY):
            if position.symbol not in self.symbols:
                continue
            lots = (await self.instrument(position.symbol)).qty_to_lots(position.size or "0")
            sizes[position.symbol] = -lots if position.side == "Sell" else lots
        return sizes

    async def _position_mismatches(self, stream: dict[str, Position]) -> list[str]:
        venue = await self.venue_positions()
        mismatches = []
        for symbol in self.symbols:
            venue_lots = venue.get(symbol, 0)
            stream_lots = stream[symbol].size_lots if symbol in stream else 0
            if venue_lots != stream_lots:
                mismatches.append(f"{symbol}: venue {venue_lots} lots, EXEC {stream_lots} lots")
        return mismatches

    async def executor_orders(self) -> set[str] | None:
        """Client order ids the executor holds, or None when it does not answer."""
        try:
            reply = await self.client.request(
                subjects.ctl("executor", "status"), encode(StatusRequest()), timeout=2
            )
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return None  # the executor is down (a drill killed it) or busy restarting
        data: dict[str, Any] = decode(reply.data, CtlReply).data
        held: set[str] = set()
        for symbol in self.symbols:
            rows = json.loads(data.get(f"orders.{symbol}", "[]"))
            held.update(str(row[0]) for row in rows)
        return held

    async def _orphans(self, findings: AuditFindings) -> list[str]:
        """Venue orders the executor holds in neither of two views taken around the venue's."""
        before = await self.executor_orders()
        orders = await self.api.open_orders(CATEGORY)
        after = await self.executor_orders()
        findings.venue_open_orders = len(orders)
        held = (before or set()) | (after or set())
        return sorted(
            f"{order.symbol}/{order.order_link_id or order.order_id}"
            for order in orders
            if order.order_link_id not in held
        )

    async def halt_state(self) -> str:
        """Risk's kill switch as stored in KV, for a failure message ("" when not halted)."""
        try:
            bucket = await self.client.jetstream().key_value(subjects.RISK_BUCKET)
            entry = await bucket.get(subjects.HALT_KEY)
        except KeyNotFoundError:
            return ""
        except (nats.errors.Error, TimeoutError) as error:
            return f"halt state unreadable: {type(error).__name__}"
        halt = decode(entry.value or b"", HaltState)
        return f"halted by {halt.by}: {halt.reason}" if halt.halted else ""

    async def open_order_count(self) -> int:
        return len(await self.api.open_orders(CATEGORY))

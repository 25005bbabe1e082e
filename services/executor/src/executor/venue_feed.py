"""Venue private pushes onto the bus: order, execution and position pushes become JetStream facts.

The private stream's callbacks are synchronous, so they only enqueue; one task drains the queue in
order, applies each order push to the symbol's `OwnOrders`, and publishes with a
`Nats-Msg-Id` (the venue's execution id for fills) so that the same venue fact published twice
(a stream push and the REST catch-up after a reconnect, or a restart replaying executions) is
stored once. A `Resynced` marker is queued after each reconnect's catch-up, so the reconciliation
it triggers runs after every fill the catch-up delivered has been published. Publishing goes
through the `FactStore`, which fails closed while JetStream cannot store facts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.js import JetStreamContext

from executor.client_ids import ClientIdFactory, color_of
from executor.fact_store import FactStore
from executor.metrics import ExecutorMetrics
from executor.order_sender import Rejection
from executor.own_orders import OwnOrders, PushMeaning
from mm_bybit import raw
from mm_bybit.convert import (
    ConversionError,
    fill_from_execution,
    funding_from_execution,
)
from mm_bybit.pushes import PositionPush, order_push, position_push
from mm_proto import (
    InstrumentDefinition,
    OrderAccepted,
    OrderAmended,
    OrderRejected,
    Position,
    subjects,
)

_log = logging.getLogger("executor.feed")


@dataclass(frozen=True)
class Resynced:
    """The private stream is subscribed again and its execution catch-up has been queued."""


Push = tuple[str, Any]


class VenueFeed:
    """Applies and publishes venue pushes for the executor's symbols, in arrival order."""

    def __init__(
        self,
        jetstream: JetStreamContext,
        venue: str,
        instruments: dict[str, InstrumentDefinition],
        own_orders: dict[str, OwnOrders],
        ids: ClientIdFactory,
        metrics: ExecutorMetrics,
        on_order_change: Callable[[str], None],
        on_resynced: Callable[[], Awaitable[None]],
        facts: FactStore,
    ) -> None:
        self.jetstream = jetstream
        self.facts = facts
        self.venue = venue
        self.instruments = instruments
        self.own_orders = own_orders
        self.ids = ids
        self.metrics = metrics
        self._on_order_change = on_order_change
        self._on_resynced = on_resynced
        self.queue: asyncio.Queue[Push] = asyncio.Queue()
        self.published_fills = 0
        # Lease mode: ids of the other replicas. The end of such an order (cancelled by our
        # takeover, or filled) is published too, under the same message id its owner would use,
        # so a killed replica's orders still end in EXEC (stored once if both publish).
        self.is_sibling: Callable[[str], bool] = lambda _client_order_id: False
        self.reconciliations = 0  # baselines published by this process (message ids)
        self.reconciled_symbols: set[str] = set()  # reconciled at least once by this process

    def on_orders(self, orders: list[raw.Order]) -> None:
        self.queue.put_nowait(("orders", orders))

    def on_fills(self, executions: list[raw.Execution]) -> None:
        self.queue.put_nowait(("fills", executions))

    def on_funding(self, executions: list[raw.Execution]) -> None:
        self.queue.put_nowait(("funding", executions))

    def on_positions(self, positions: list[raw.Position]) -> None:
        self.queue.put_nowait(("positions", positions))

    def on_wallets(self, wallets: list[raw.Wallet]) -> None:
        # No proto message carries the wallet yet; counted so the push is visibly handled.
        self.metrics.dropped.labels("wallet", "no_bus_message").inc(len(wallets))

    def on_dcp(self, payload: Any) -> None:
        _log.info("dcp push", extra={"payload": str(payload)[:200]})

    def on_rejected(self, symbol: str, rejection: Rejection) -> None:
        self.queue.put_nowait(("rejected", (symbol, rejection)))

    def on_resynced_push(self) -> None:
        self.queue.put_nowait(("resynced", Resynced()))

    async def run(self) -> None:
        """Drain the queue forever (cancel to stop); one bad push never stops the feed."""
        while True:
            kind, payload = await self.queue.get()
            try:
                await self._handle(kind, payload)
            except Exception:
                self.metrics.dropped.labels(kind, "handler_error").inc()
                _log.exception("venue push handling failed", extra={"kind": kind})
            finally:
                self.queue.task_done()

    async def _handle(self, kind: str, payload: Any) -> None:
        if kind == "orders":
            for order in payload:
                await self.apply_order(order)
        elif kind == "fills":
            for execution in payload:
                await self.publish_fill(execution)
        elif kind == "funding":
            for execution in payload:
                await self.publish_funding(execution)
        elif kind == "positions":
            for position in payload:
                await self.publish_position(position)
        elif kind == "resynced":
            await self._on_resynced()
        elif kind == "rejected":
            await self.publish_rejection(*payload)

    def _instrument(self, symbol: str, source: str) -> InstrumentDefinition | None:
        instrument = self.instruments.get(symbol)
        if instrument is None:
            self.metrics.dropped.labels(source, "other_symbol").inc()
        return instrument

    async def apply_order(self, order: raw.Order) -> None:
        """Update our view from one order push and publish the event it stands for."""
        instrument = self._instrument(order.symbol, "order")
        if instrument is None:
            return
        try:
            push = order_push(order, instrument)
        except ValueError as error:  # ConversionError is one
            self.metrics.dropped.labels("order", "unconvertible").inc()
            _log.warning("dropped order push", extra={"error": str(error)})
            return
        client_order_id, event = push.order.client_order_id, push.event
        owned = self.ids.is_own(client_order_id)
        meaning = self.own_orders[push.symbol].apply_push(push.order, time.monotonic(), owned)
        self.metrics.pushes.labels(meaning.value if owned else "foreign").inc()
        if (
            not owned
            and event is not None
            and push.order.final
            and self.is_sibling(client_order_id)
        ):
            event = msgspec.structs.replace(event, color=color_of(client_order_id))
            subject = subjects.exec_order(self.venue, instrument.category, push.symbol)
            await self.facts.publish(subject, event, f"order:{push.state_id}")
            return
        if not owned or event is None:
            return
        if meaning is PushMeaning.STALE:
            return
        if meaning is PushMeaning.AMENDED and isinstance(event, OrderAccepted):
            event = OrderAmended(**msgspec.structs.asdict(event))
        event = msgspec.structs.replace(event, color=color_of(client_order_id))
        subject = subjects.exec_order(self.venue, instrument.category, push.symbol)
        await self.facts.publish(subject, event, f"order:{push.state_id}")
        # Re-plan when an order settled or filled; not on a post-only kill or a cancel, which
        # would otherwise re-create into the same refusal as fast as the venue answers.
        if meaning is not PushMeaning.FINISHED or push.order.filling:
            self._on_order_change(push.symbol)

    async def publish_rejection(self, symbol: str, rejection: Rejection) -> None:
        """A refused request as OrderRejected, so risk's reject-rate check sees it."""
        instrument = self.instruments[symbol]
        order = rejection.order
        event = OrderRejected(
            venue=self.venue,
            category=instrument.category,
            symbol=symbol,
            client_order_id=order.client_order_id,
            venue_order_id="",
            side=order.side,
            price_ticks=order.price_ticks,
            size_lots=order.size_lots,
            ts_event_ns=time.time_ns(),
            reason=f"{rejection.kind}: {rejection.reason}"[:200],
            color=color_of(order.client_order_id),
        )
        # Each refusal is its own fact: the same order can be refused more than once.
        message_id = f"rejected:{order.client_order_id}:{rejection.kind}:{time.time_ns()}"
        subject = subjects.exec_order(self.venue, instrument.category, symbol)
        await self.facts.publish(subject, event, message_id)

    async def publish_fill(self, execution: raw.Execution) -> None:
        """Publish one trade execution as a Fill, de-duplicated by its execution id."""
        instrument = self._instrument(execution.symbol, "fill")
        if instrument is None:
            return
        try:
            fill = fill_from_execution(execution, instrument, time.time_ns())
            fill = msgspec.structs.replace(fill, color=color_of(fill.client_order_id))
        except ConversionError as error:
            self.metrics.dropped.labels("fill", "unconvertible").inc()
            _log.warning("dropped execution", extra={"error": str(error)})
            return
        subject = subjects.exec_fill(self.venue, instrument.category, execution.symbol)
        await self.facts.publish(subject, fill, fill.fill_id, self._count_fill)

    def _count_fill(self) -> None:
        self.published_fills += 1
        self.metrics.fills.inc()

    async def publish_funding(self, execution: raw.Execution) -> None:
        """Publish one funding settlement on a position, de-duplicated by its execution id."""
        instrument = self._instrument(execution.symbol, "funding")
        if instrument is None:
            return
        try:
            settlement = funding_from_execution(execution, instrument, time.time_ns())
        except ConversionError as error:
            self.metrics.dropped.labels("funding", "unconvertible").inc()
            _log.warning("dropped funding execution", extra={"error": str(error)})
            return
        subject = subjects.exec_funding(self.venue, instrument.category, execution.symbol)
        await self.facts.publish(subject, settlement, f"funding:{settlement.funding_id}")

    async def publish_position(self, position: raw.Position) -> None:
        """Publish the venue's position for one of our symbols."""
        instrument = self._instrument(position.symbol, "position")
        push = self._position(position, instrument) if instrument is not None else None
        if instrument is None or push is None:
            return
        subject = subjects.exec_position(self.venue, instrument.category, position.symbol)
        await self.facts.publish(subject, push.position, f"position:{push.state_id}")

    async def publish_reconciled_position(
        self, instrument: InstrumentDefinition, positions: list[raw.Position], read_ns: int
    ) -> None:
        """Publish what the venue holds for one symbol at a reconciliation, as a baseline.

        Flat when the venue lists no row (a venue that has never traded the symbol, or was
        restarted). `read_ns` (when the read was sent) goes with it: risk tells by it the fills
        matched after the read from an earlier venue life's. The message id is unique to this
        reconciliation, so a baseline equal to an earlier one (a flat start after a flat start)
        is never de-duplicated away.
        """
        symbol = instrument.symbol
        rows = [position for position in positions if position.symbol == symbol]
        message: Position | None = Position(
            venue=self.venue,
            category=instrument.category,
            symbol=symbol,
            size_lots=0,
            entry_price="0",
            realized_pnl="0",
            unrealized_pnl="0",
            ts_exchange_ns=time.time_ns(),
        )
        if rows:
            push = self._position(rows[-1], instrument)
            message = push.position if push is not None else None
        if message is None:
            return
        self.reconciliations += 1
        message_id = f"position:{symbol}:reconciled:{self.ids.boot}:{self.reconciliations}"
        subject = subjects.exec_position(self.venue, instrument.category, symbol)
        baseline = msgspec.structs.replace(message, reconciled=True, ts_read_ns=read_ns)
        await self.facts.publish(subject, baseline, message_id)

    def _position(
        self, position: raw.Position, instrument: InstrumentDefinition
    ) -> PositionPush | None:
        try:
            return position_push(position, instrument)
        except ConversionError as error:
            self.metrics.dropped.labels("position", "unconvertible").inc()
            _log.warning("dropped position", extra={"error": str(error)})
            return None

    async def flush(self, timeout_s: float) -> None:
        """Wait until every queued push is handled, at most `timeout_s`."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout_s)
        except TimeoutError:
            _log.warning("feed not flushed in time", extra={"queued": self.queue.qsize()})

"""Sending a plan to the venue: requests built from actions, batched per kind, retried safely.

A create keeps its client order id across retries, so a retry after a timeout can never make a
second order: the venue refuses it (110072), which we read as "the first attempt got there".
Errors that mean the order is already gone (110001 on amend or cancel) remove it; errors that
leave the outcome unknown (timeout, dropped connection, 5xx) mark it unconfirmed until a push or
query settles it; every other refusal leaves the order as the venue last confirmed it.

Spans (`order.send`, `order.ack`) continue the target's trace. A target from a book update the
gateway did not trace (`ts_tick_ns` set, no trace context) makes none: an untraced tick costs no
span object (`quoter.publishing`); targets of no tick (halts, risk's pulls) keep a root span.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN

from executor.client_ids import ClientIdFactory
from executor.metrics import ExecutorMetrics
from executor.own_orders import OwnOrders, TrackedOrder
from executor.planner import Action, Amend, Cancel, Create, Plan
from mm_bybit.api import BatchOutcome
from mm_bybit.errors import (
    BybitError,
    CircuitOpen,
    DuplicateClientOrderId,
    Fenced,
    OrderNotFound,
    RateLimited,
    RequestTimeout,
    ServerBusy,
    TransportError,
)
from mm_bybit.order_requests import (
    OrderRequest,
    amend_request,
    batch_limit,
    cancel_request,
    create_request,
)
from mm_bybit.raw import OrderAck
from mm_bybit.send_gate import SEND_GATE, SEND_OBSERVER
from mm_proto import InstrumentDefinition, Side
from mm_runtime.telemetry import child_span

_log = logging.getLogger("executor.sender")

_UNTRACED = contextlib.nullcontext(INVALID_SPAN)  # reusable: yields the non-recording span
_AMBIGUOUS = (RequestTimeout, TransportError, ServerBusy)
_NOT_SENT = (RateLimited, CircuitOpen)


@dataclass(frozen=True)
class Rejection:
    """The venue refused a request about one of our orders (not a budget or breaker refusal)."""

    kind: str  # create, amend or cancel
    order: TrackedOrder  # as requested (a copy)
    reason: str  # the venue's error code and message


class OrderEntry(Protocol):
    """REST (`BybitRestApi`) or the trade WebSocket (`TradeStream`, REST when down)."""

    async def send_order(self, request: OrderRequest) -> OrderAck: ...

    async def send_batch(self, requests: list[OrderRequest]) -> list[BatchOutcome]: ...


class OrderSender:
    """Turns one symbol's planned actions into venue requests and records what came back."""

    def __init__(
        self,
        entry: OrderEntry,
        instrument: InstrumentDefinition,
        own_orders: OwnOrders,
        ids: ClientIdFactory,
        metrics: ExecutorMetrics,
        *,
        max_attempts: int = 3,
        retry_delay_s: float = 0.2,
        use_batches: bool = True,
        tracer: trace.Tracer | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_rejected: Callable[[Rejection], None] | None = None,
        on_tick_to_order: Callable[[int], None] | None = None,
        may_write: Callable[[], bool] = lambda: True,
    ) -> None:
        self.entry = entry
        self.instrument = instrument
        self.own_orders = own_orders
        self.ids = ids
        self.metrics = metrics
        self._requests = metrics.requests.labels  # per request sent
        self._actions = metrics.actions.labels
        self._send_latency = metrics.send_latency.labels
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.use_batches = use_batches
        self.tracer = tracer or trace.get_tracer("executor")
        self.clock = clock
        self.on_rejected = on_rejected
        self.on_tick_to_order = on_tick_to_order  # each sample, ns (`latency_window`)
        # Lease mode (executor/shards.py): asked immediately before a create or amend leaves.
        self.may_write = may_write
        # Creates the venue refused for the current target: not sent again until it changes.
        self.refused_creates: set[tuple[Side, int, int]] = set()
        self.lost_orders = 0  # orders found gone when we tried to change them
        self.reduce_only_ids: set[str] = set()  # our live orders placed reduce-only
        self._tick_ns = 0
        self._traced = True

    def _span(self, name: str, context: Context | None) -> AbstractContextManager[trace.Span]:
        """`child_span`, or no span for the plan of an untraced tick."""
        if self._traced:
            return child_span(self.tracer, name, context)
        return _UNTRACED

    async def execute(
        self, plan: Plan, context: Context | None = None, ts_tick_ns: int = 0, traced: bool = True
    ) -> None:
        """Cancels, then amends, then creates; each kind as batches where there are several.

        `ts_tick_ns` (the target's tick time, 0 if unknown) times the plan's first request only:
        the tick-to-order latency is how soon the first venue action of a tick leaves, taken by
        the transport when the bytes go (`mm_bybit.send_gate`), after any wait for a slot of
        the rate budget. A plan none of whose requests leaves gives no sample. `traced` False
        (a target of a tick the gateway did not trace, `mm_runtime.telemetry.untraced_tick`) makes
        no spans.
        """
        self._tick_ns = ts_tick_ns
        self._traced = traced
        for group in (plan.cancels, plan.amends, plan.creates):
            if not group:
                continue
            pairs = [self._request(action) for action in group]
            limit = batch_limit(self.instrument.category)
            if self.use_batches and len(pairs) > 1:
                chunks = [pairs[start : start + limit] for start in range(0, len(pairs), limit)]
                for chunk in chunks:
                    await self._send_batch(chunk, _kind(group[0]), context)
            else:
                for client_id, request in pairs:
                    await self._send_one(client_id, request, _kind(group[0]), context)

    def _request(self, action: Action) -> tuple[str, OrderRequest]:
        """Build the venue request for an action and record it as in flight."""
        now = self.clock()
        if isinstance(action, Create):
            client_id = self.ids.next_id(action.color)
            if action.reduce_only:
                self.reduce_only_ids.add(client_id)
            self.own_orders.create_sent(
                client_id, action.side, action.price_ticks, action.size_lots, now
            )
            return client_id, create_request(self.instrument, action, client_id)
        if isinstance(action, Amend):
            self.own_orders.amend_sent(
                action.client_order_id, action.price_ticks, action.size_lots, now
            )
            return action.client_order_id, amend_request(
                self.instrument,
                action.client_order_id,
                price_ticks=action.price_ticks if action.price_changed else None,
                size_lots=action.size_lots if action.size_changed else None,
            )
        self.own_orders.cancel_sent(action.client_order_id, now)
        return action.client_order_id, cancel_request(
            self.instrument, client_order_id=action.client_order_id
        )

    async def _send_one(
        self, client_id: str, request: OrderRequest, kind: str, context: Context | None
    ) -> None:
        for attempt in range(1, self.max_attempts + 1):
            self._requests(kind, "single").inc()
            started = time.perf_counter()
            try:
                with self._span("order.send", context) as span:
                    span.set_attribute("order.kind", kind)
                    span.set_attribute("order.client_order_id", client_id)
                    if kind != "cancel" and not self.may_write():
                        self._fenced([client_id], kind)
                        return
                    with self._gated(kind, span):
                        ack = await self.entry.send_order(request)
            except BybitError as error:
                if not self._retry_worthy(error, attempt):
                    self._settle_error(client_id, kind, error)
                    return
                self._actions(kind, "retried").inc()
                await asyncio.sleep(self.retry_delay_s * attempt)
                continue
            self._settle_ack(client_id, kind, ack.order_id, started, context)
            return

    def _observe_tick(self, span: trace.Span) -> None:
        """The plan's first request is leaving (the transport calls this): one sample."""
        if self._tick_ns:
            elapsed_ns = max(0, time.time_ns() - self._tick_ns)
            self.metrics.tick_to_order.observe(elapsed_ns / 1e9)
            span.set_attribute("order.tick_to_order_ns", elapsed_ns)
            if self.on_tick_to_order is not None:
                self.on_tick_to_order(elapsed_ns)
            self._tick_ns = 0

    def _retry_worthy(self, error: BybitError, attempt: int) -> bool:
        return attempt < self.max_attempts and isinstance(error, _AMBIGUOUS + _NOT_SENT)

    async def _send_batch(
        self, pairs: Sequence[tuple[str, OrderRequest]], kind: str, context: Context | None
    ) -> None:
        self._requests(kind, "batch").inc()
        started = time.perf_counter()
        try:
            with self._span("order.send", context) as span:
                span.set_attribute("order.kind", kind)
                span.set_attribute("order.batch_size", len(pairs))
                if kind != "cancel" and not self.may_write():
                    self._fenced([client_id for client_id, _ in pairs], kind)
                    return
                with self._gated(kind, span):
                    outcomes = await self.entry.send_batch([request for _, request in pairs])
        except BybitError as error:
            _log.warning(
                "batch failed; sending items one by one",
                extra={"kind": kind, "error": str(error), "items": len(pairs)},
            )
            for client_id, request in pairs:
                await self._send_one(client_id, request, kind, context)
            return
        for (client_id, _), outcome in zip(pairs, outcomes, strict=True):
            item_error = outcome.error()
            if item_error is None:
                self._settle_ack(client_id, kind, outcome.ack.order_id, started, context)
            else:
                self._settle_error(client_id, kind, _as_venue_error(item_error))

    @contextlib.contextmanager
    def _gated(self, kind: str, span: trace.Span) -> Iterator[None]:
        """Creates and amends carry the lease check down to the transport, which asks it again
        right before the write (after any wait for a rate-budget slot): `mm_bybit.send_gate`.
        While the plan's tick is not yet timed, the transport takes that sample there too."""
        gate = SEND_GATE.set(None if kind == "cancel" else self.may_write)
        timed = functools.partial(self._observe_tick, span) if self._tick_ns else None
        observer = SEND_OBSERVER.set(timed)
        try:
            yield
        finally:
            SEND_OBSERVER.reset(observer)
            SEND_GATE.reset(gate)

    def _fenced(self, client_ids: list[str], kind: str) -> None:
        """Not sent: this replica does not hold the symbol's lease (any more)."""
        now = self.clock()
        for client_id in client_ids:
            self._actions(kind, "fenced").inc()
            self.own_orders.refused(client_id, now)

    def _settle_ack(
        self,
        client_id: str,
        kind: str,
        venue_order_id: str,
        started: float,
        context: Context | None,
    ) -> None:
        elapsed = time.perf_counter() - started
        self._send_latency(kind).observe(elapsed)
        self._actions(kind, "ok").inc()
        with self._span("order.ack", context) as span:
            span.set_attribute("order.kind", kind)
            span.set_attribute("order.client_order_id", client_id)
            span.set_attribute("order.venue_order_id", venue_order_id)
        self.own_orders.acknowledged(client_id, venue_order_id, self.clock())

    def _settle_error(self, client_id: str, kind: str, error: BybitError) -> None:
        now = self.clock()
        if isinstance(error, Fenced):
            self._fenced([client_id], kind)
            return
        if isinstance(error, DuplicateClientOrderId):
            # An earlier attempt of this very create reached the venue: that order is ours.
            self._actions(kind, "duplicate_refused").inc()
            self.own_orders.acknowledged(client_id, "", now)
        elif isinstance(error, OrderNotFound) and kind != "create":
            self._actions(kind, "already_gone").inc()
            self.own_orders.gone(client_id)
            self.lost_orders += 1
        elif isinstance(error, _AMBIGUOUS):
            self._actions(kind, "unknown_outcome").inc()
            self.own_orders.unknown_outcome(client_id, now)
        else:
            self._actions(kind, "refused").inc()
            order = self.own_orders.orders.get(client_id)
            if (
                order is not None
                and self.on_rejected is not None
                and not isinstance(error, _NOT_SENT)
            ):
                # Reported before `refused` restores the venue's values: the event carries
                # what we asked for.
                self.on_rejected(Rejection(kind, dataclasses.replace(order), error.message))
            if order is not None and kind == "create" and not isinstance(error, _NOT_SENT):
                self.refused_creates.add((order.side, order.price_ticks, order.size_lots))
            self.own_orders.refused(client_id, now)
        _log.info(
            "order request not accepted",
            extra={"kind": kind, "client_order_id": client_id, "error": str(error)},
        )


def _kind(action: Action) -> str:
    if isinstance(action, Create):
        return "create"
    if isinstance(action, Amend):
        return "amend"
    assert isinstance(action, Cancel)
    return "cancel"


def _as_venue_error(error: Exception) -> BybitError:
    return error if isinstance(error, BybitError) else BybitError(str(error))

"""The four fast-path services' message handlers wired in one process, the bus replaced by a list.

Each service object is built as its `start` builds it (its own metrics registry, tracer and
`mm_runtime.bus.Bus`), minus the network: the NATS client is `Wire`, whose `publish` keeps the
subject, payload and headers. Messages reach a handler through `Bus._deliver`, the subscription
callback's own path (decode, trace context, the handler, publish with the context injected), so
the cost measured is the service's whole per-message work except nats-py's socket reads and
writes. A service's output feeds the next: gateway book tops go to the quoter and to risk,
intents to risk, targets to the executor, whose venue is `Venue` (every request acknowledged,
then the order push the venue would send applied to the executor's order state).

Handlers are coroutines that never suspend here (nothing awaits the network), so `drive` runs
each to its end without an event loop.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Coroutine, Generator
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from prometheus_client import CollectorRegistry

from executor.client_ids import ClientIdFactory
from executor.metrics import ExecutorMetrics
from executor.order_sender import OrderSender
from executor.own_orders import OrderState, OwnOrders
from executor.planner import VenueRules
from executor.symbol_worker import SymbolWorker
from executor.watchdog import Watchdog
from md_gateway.service import GatewayService
from md_gateway.settings import GatewaySettings
from mm_bybit.api import BatchOutcome
from mm_bybit.pushes import VenueOrder
from mm_bybit.raw import BatchItem, OrderAck
from mm_proto import BookTop, InstrumentDefinition, OrderTarget, QuoteIntent, RiskEvent, decode
from mm_runtime.bus import Bus
from mm_runtime.lifecycle import Runtime
from mm_runtime.metrics import RuntimeMetrics
from mm_runtime.settings import TelemetrySettings
from mm_runtime.telemetry import Telemetry
from quoter.params import QuoterParams
from quoter.service import QuoterService
from quoter.settings import QuoterSettings
from risk.engine import HaltStatus, RiskEngine
from risk.limits import RiskLimits
from risk.service import RiskService
from risk.settings import RiskSettings

VENUE, CATEGORY, TICK, LOT = "bybit", "linear", "0.10", "0.001"


class Sent(NamedTuple):
    subject: str
    payload: bytes
    headers: dict[str, str] | None


class Wire:
    """Stands in for the nats-py client: `publish` keeps what would have gone out."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def publish(
        self, subject: str, payload: bytes = b"", reply: str = "", headers: Any = None
    ) -> None:
        self.sent.append(Sent(subject, payload, headers))

    def take(self) -> list[Sent]:
        sent, self.sent = self.sent, []
        return sent


class Delivered(NamedTuple):
    """What `Bus._deliver` hands a subscription's callback: the nats-py `Msg` fields read."""

    subject: str
    data: bytes
    headers: dict[str, str] | None


def decisions(sent: Sent, message_type: Any) -> tuple[object, ...]:
    """What a published intent or target decided: symbol, levels, reason or cancel-all."""
    message = decode(sent.payload, message_type)
    levels = [(level.price_ticks, level.size_lots) for level in message.bids + message.asks]
    return (sent.subject, levels, getattr(message, "reason", ""), getattr(message, "cancel_all", 0))


def drive(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine that never suspends to its end."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a handler waited on something: the bench has no event loop")


def runtime(name: str) -> tuple[Runtime, Wire]:
    """A service's runtime as `mm_runtime.lifecycle` makes it, on a `Wire` instead of NATS."""
    wire = Wire()
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    bus = Bus(wire, metrics)  # type: ignore[arg-type]
    telemetry = Telemetry(name, TelemetrySettings())
    made = Runtime(name, bus, registry, metrics, telemetry, None, None)  # type: ignore[arg-type]
    return made, wire


def definition(symbol: str) -> InstrumentDefinition:
    return InstrumentDefinition(
        venue=VENUE, category=CATEGORY, symbol=symbol, base_coin="BTC", quote_coin="USDT",
        status="Trading", tick_size=TICK, lot_size=LOT, min_qty_lots=1, max_qty_lots=10**6,
        min_notional="5",
    )  # fmt: skip


class Gateway:
    """md_gateway from the venue's text frame to the messages its outbox hands to NATS."""

    def __init__(self, symbols: list[str], trace_interval: int = 0) -> None:
        self.runtime, self.wire = runtime("md_gateway")
        settings = GatewaySettings(symbols=symbols)
        if trace_interval:
            settings = GatewaySettings(symbols=symbols, tick_trace_interval=trace_interval)
        self.service = GatewayService(settings)
        outbox, _inbox = self.service._wire(self.runtime)
        self.outbox = outbox
        self.service.instruments = {symbol: definition(symbol) for symbol in symbols}
        self.service._build_books()

        # The venue stream as the service opens it, its frames handled inline (no FrameInbox):
        # its read loop runs on `Socket`, suspended in `recv` between frames.
        stream = self.service._open_stream(self.service._on_frame)
        self._reader = stream.connection._read(Socket())  # type: ignore[arg-type]
        self._reader.send(None)

    def on_frame(self, payload: bytes) -> list[Sent]:
        """The connection's read loop (its routing, envelope decode), the frame handler, then
        the outbox's send."""
        self._reader.send(payload)
        drive(self.outbox._send_queued())
        return self.wire.take()


class Socket:
    """Stands in for the venue's WebSocket: `recv` returns what the caller `send`s into the
    coroutine that awaits it."""

    @types.coroutine
    def recv(self, decode: bool = True) -> Generator[None, bytes, bytes]:
        payload = yield
        return payload


class Quoter:
    """The quoter's book-top handler and the intents it publishes."""

    def __init__(self, symbols: list[str], now_ns: int) -> None:
        self.runtime, self.wire = runtime("quoter")
        settings = QuoterSettings(
            symbols=symbols,
            instruments=[
                {
                    "symbol": s,
                    "tick_size": TICK,
                    "lot_size": LOT,
                    "min_qty": LOT,
                    "min_notional": "5",
                    "maker_fee_rate": "-0.00005",
                }
                for s in symbols
            ],
            maker_fee_rate=Decimal("-0.00005"),
            params=QuoterParams(min_spread_bps=0.1, k_vola_spread=0.1, obligation_enabled=False),
        )
        self.service = service = QuoterService(settings)
        service._wire(self.runtime)
        for quoter in service.quoters.values():
            quoter.on_feed(True, now_ns)

    def on_book(self, sent: Sent) -> list[Sent]:
        deliver = self.runtime.bus._deliver
        drive(deliver("md.book.>", BookTop, self.service.on_book, Delivered(*sent)))  # type: ignore[arg-type]
        return self.wire.take()


class Risk:
    """Risk's book-top and intent handlers and the targets it publishes."""

    def __init__(self, symbols: list[str], now_ns: int) -> None:
        self.runtime, self.wire = runtime("risk")
        self.service = service = RiskService(RiskSettings(symbols=symbols))
        service._wire(self.runtime)
        service.instruments = {symbol: definition(symbol).grid() for symbol in symbols}
        service.engine = RiskEngine(service.instruments, RiskLimits(), HaltStatus(), now_ns)
        for symbol in symbols:
            service.engine.on_feed_status(symbol, True, now_ns)
        self.events: list[tuple[object, ...]] = []  # every risk event: check, outcome, values

    def outcome_counts(self) -> list[tuple[tuple[str, ...], float]]:
        """Each (check, outcome) label set's count of `risk_check_outcomes_total`."""
        counter = self.service.metrics.check_outcomes
        return sorted((labels, child.value) for labels, child in counter._children.items())

    def on_book(self, sent: Sent) -> None:
        deliver = self.runtime.bus._deliver
        drive(deliver("md.book.>", BookTop, self.service.on_book, Delivered(*sent)))  # type: ignore[arg-type]
        self.wire.take()  # nothing, unless a flatten were running

    def on_intent(self, sent: Sent) -> list[Sent]:
        deliver = self.runtime.bus._deliver
        drive(deliver("quote.intent.>", QuoteIntent, self.service.on_intent, Delivered(*sent)))  # type: ignore[arg-type]
        taken = self.wire.take()
        for out in taken:
            if out.subject.startswith("risk.event."):
                event = decode(out.payload, RiskEvent)
                self.events.append(
                    (
                        event.symbol,
                        event.check,
                        event.outcome,
                        event.observed,
                        event.limit,
                        event.detail,
                    )
                )
        return [out for out in taken if out.subject.startswith("order.target.")]


class Venue:
    """Acknowledges every request at once; keeps what each asked (ids left out) for a digest."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.asked: list[Any] = []

    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """Every request asked, in order, without its client order id (it holds the boot time)."""
        kept = []
        for request in self.asked:
            fields = msgspec.structs.asdict(request)
            fields.pop("order_link_id", None)
            kept.append((type(request).__name__, fields))
        return kept

    async def send_order(self, request: Any) -> OrderAck:
        self.asked.append(request)
        return OrderAck(order_id=f"v{next(self._ids)}", order_link_id=request.order_link_id)

    async def send_batch(self, requests: list[Any]) -> list[BatchOutcome]:
        self.asked += requests
        return [
            BatchOutcome(
                ack=BatchItem(order_id=f"v{next(self._ids)}", order_link_id=r.order_link_id),
                ret_code=0,
                ret_message="OK",
            )
            for r in requests
        ]


class Executor:
    """The executor's target handler, its symbol worker's plan and send, and the venue's pushes."""

    def __init__(self, symbols: list[str], now_s: float) -> None:
        self.runtime, self.wire = runtime("executor")
        metrics = ExecutorMetrics(self.runtime.registry)
        ids = ClientIdFactory("mm", "0")
        self.workers: dict[str, SymbolWorker] = {}
        self.venue = venue = Venue()
        for symbol in symbols:
            sender = OrderSender(
                venue, definition(symbol), OwnOrders(symbol), ids, metrics,
                tracer=self.runtime.telemetry.tracer, on_tick_to_order=lambda _ns: None,
            )  # fmt: skip
            watchdog = Watchdog(0.6, now_s)
            self.workers[symbol] = SymbolWorker(sender, VenueRules(), None, watchdog)  # type: ignore[arg-type]
        self._updated_ms = itertools.count(1)

    async def on_target(self, target: OrderTarget, context: Any, _msg: Any) -> None:
        self.workers[target.symbol].offer(target, context)

    def on_target_message(self, sent: Sent) -> None:
        deliver = self.runtime.bus._deliver
        drive(deliver("order.target.>", OrderTarget, self.on_target, Delivered(*sent)))  # type: ignore[arg-type]
        worker = self.workers[sent.subject.rsplit(".", 1)[-1]]
        drive(worker.step(worker._target, worker._context))  # type: ignore[arg-type]
        self._push_back(worker.own_orders)

    def _push_back(self, orders: OwnOrders) -> None:
        """The venue's order pushes for every request just acknowledged."""
        for order in list(orders.orders.values()):
            if order.state is OrderState.LIVE:
                continue
            status = "Cancelled" if order.state is OrderState.PENDING_CANCEL else "New"
            push = VenueOrder(
                order.client_order_id, order.venue_order_id, order.side, order.price_ticks,
                order.size_lots, 0, status, next(self._updated_ms),
            )  # fmt: skip
            orders.apply_push(push, 0.0, owned=True)

"""The trading stack in one process: the production cores wired as the services wire them.

Per symbol: md_gateway's `SymbolBook` (the Rust book and the feed state machine) turns raw frames
into tops, the quoter's `SymbolQuoter` turns tops, trades, fills and positions into ladders, and
an `OrderDesk` runs the executor's planner. Across symbols: risk's `RiskEngine` checks every
intent and owns the kill switch, and the ledger's `Ledger` books tops (marks), fills, funding and
order events. Messages pass as the contract's types, without the bus. Every method takes the
virtual time `now_ns` and returns the venue requests the step produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from executor.client_ids import ClientIdFactory, color_of
from ledger.core import Ledger
from md_gateway.feed_state import SymbolFeed
from md_gateway.symbol_book import SymbolBook
from mm_backtest import grids
from mm_backtest.desk import OrderDesk, Request
from mm_backtest.params import BacktestParams
from mm_backtest.pushes import EVENT
from mm_backtest.source import BOOK, Frame
from mm_bybit import raw
from mm_bybit.convert import (
    ConversionError,
    fill_from_execution,
    funding_from_execution,
    order_event_from_order,
    trades_from_message,
)
from mm_proto import (
    Fill,
    InstrumentDefinition,
    OrderEvent,
    OrderRejected,
    OrderTarget,
    QuoteLevel,
    Side,
)
from mm_sim.events import PrivateRecords
from quoter.messages import touch_from_book
from quoter.strategy import Decision, SymbolQuoter
from risk.engine import HaltStatus, RiskEngine, Target
from risk.kill_switch import Trip, is_transient

_NS_PER_S = 1_000_000_000


@dataclass
class Counts:
    """What the stack dropped or refused, by reason (the report's `backtest.counts`)."""

    values: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, amount: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + amount


class Stack:
    """Books, quoters, desks, risk and the ledger for every instrument of the parameters."""

    def __init__(self, params: BacktestParams, start_ns: int) -> None:
        self.params = params
        self.grids = {c.symbol: grids.definition(c) for c in params.instruments}
        fee = params.venue.maker_fee_rate
        start_s = start_ns / _NS_PER_S
        self.books = {
            s: SymbolBook(g, SymbolFeed(s, 5.0, 5.0, start_s), params.depth, 1, 1.0)
            for s, g in self.grids.items()
        }
        self.quoters = {
            s: SymbolQuoter(grids.grid(g), params.quoter_for(s), float(fee))
            for s, g in self.grids.items()
        }
        ids = ClientIdFactory("bt", "0", boot_ms=start_ns // 1_000_000)
        self.desks = {s: OrderDesk(g, ids) for s, g in self.grids.items()}
        risk_grids = {s: grids.grid(g) for s, g in self.grids.items()}
        self.risk = RiskEngine(risk_grids, params.risk, HaltStatus(), start_ns)
        self.ledger = Ledger()
        for grid in self.grids.values():
            self.ledger.add_instrument(grid)
        self.positions = dict.fromkeys(self.grids, 0)
        self.fills: list[Fill] = []
        self.counts = Counts()
        self.halt_requests: list[Request] = []  # cancel-alls of a trip, taken by the engine
        self.intents = 0

    # ---- market data -------------------------------------------------------------------------
    def on_frame(self, frame: Frame, now_ns: int) -> list[Request]:
        """A recorded frame as the gateway receives it."""
        if frame.kind == BOOK:
            return self._on_book(frame, now_ns)
        try:
            trades = trades_from_message(frame.payload, self.grids, now_ns)
        except ConversionError:
            self.counts.add("bad_trade_frames")
            return []
        for trade in trades:
            quoter = self.quoters.get(trade.symbol)
            if quoter is not None:
                quoter.on_trade(trade.taker_side is Side.BUY, trade.size_lots, now_ns)
        return []

    def warm_up(self, frame: Frame, now_ns: int) -> None:
        """A frame before the window: into the gateway's book only (nothing quotes yet)."""
        book = self.books.get(frame.symbol)
        # A venue-published frame (feed `venue`) has no parsed message and is of our depth.
        mine = book is not None and frame.message.get("topic", book.topic) == book.topic
        if frame.kind == BOOK and book is not None and mine:
            book.apply(frame.payload, now_ns / _NS_PER_S)

    def _on_book(self, frame: Frame, now_ns: int) -> list[Request]:
        book = self.books.get(frame.symbol)
        if book is None:
            return []
        if frame.message and frame.message.get("topic") != book.topic:
            self.counts.add("other_depth_frames")  # the gateway routes only its depth's topic
            return []
        result = book.apply(frame.payload, now_ns / _NS_PER_S)
        requests: list[Request] = []
        if result.kind == "refused":
            self.counts.add("refused_book_frames")
        if result.change is not None:
            live = book.feed.live
            self.risk.on_feed_status(frame.symbol, live, now_ns)
            requests += self._decided(
                frame.symbol, self.quoters[frame.symbol].on_feed(live, now_ns), now_ns
            )
        if not result.publishable:
            return requests
        top = book.top(result.update_id, now_ns)
        if book.mark_due(top):
            self.ledger.on_top(top)
        self.risk.on_book(
            frame.symbol, top.bid_price_ticks, top.ask_price_ticks, top.ts_exchange_ns, now_ns
        )
        decision = self.quoters[frame.symbol].on_touch(touch_from_book(top), now_ns)
        return requests + self._decided(frame.symbol, decision, now_ns)

    # ---- strategy -> risk -> planner ---------------------------------------------------------
    def _decided(self, symbol: str, decision: Decision, now_ns: int) -> list[Request]:
        if not decision.publish:
            return []
        self.intents += 1
        ladder = decision.ladder
        color = self.quoters[symbol].params.color
        outcome = self.risk.on_intent(symbol, ladder, f"bt-{self.intents}", now_ns, color)
        target = outcome.target
        if target is None or not (target.cancel_all or not self.risk.halted):
            return []
        return self._send(target, now_ns)

    def _send(self, target: Target, now_ns: int) -> list[Request]:
        grid = self.grids[target.symbol]
        message = OrderTarget(
            venue=grid.venue,
            category=grid.category,
            symbol=target.symbol,
            bids=[
                QuoteLevel(price_ticks=lv.price_ticks, size_lots=lv.size_lots)
                for lv in target.ladder.bids
            ],
            asks=[
                QuoteLevel(price_ticks=lv.price_ticks, size_lots=lv.size_lots)
                for lv in target.ladder.asks
            ],
            target_id=target.intent_id,
            intent_id=target.intent_id,
            cancel_all=target.cancel_all,
            ts_target_ns=now_ns,
            reduce_only=target.reduce_only,
            time_in_force=target.time_in_force,
            color=target.color,
        )
        return self.desks[target.symbol].plan(message)

    # ---- the venue's private pushes ----------------------------------------------------------
    def on_private(self, batch: PrivateRecords, now_ns: int) -> list[Request]:
        """Order and execution records as the executor receives them."""
        touched: set[str] = set()
        for record in batch.records:
            symbol = str(record.get("symbol", ""))
            grid = self.grids.get(symbol)
            if grid is None:
                self.counts.add("unknown_symbol_records")
                continue
            touched.add(symbol)
            event = record.get(EVENT, record)  # the record itself: not converted in the venue
            if event is not record:
                self._on_order_event(grid, event)
                continue
            try:
                if batch.topic == "order":
                    self._on_order(grid, msgspec.convert(record, raw.Order, strict=False))
                else:
                    self._on_execution(
                        grid, msgspec.convert(record, raw.Execution, strict=False), now_ns
                    )
            except (ConversionError, msgspec.ValidationError):
                self.counts.add(f"bad_{batch.topic}_records")
        requests: list[Request] = []
        for symbol in sorted(touched):
            requests += self._after_change(symbol, now_ns)
        return requests

    def _on_order(self, grid: InstrumentDefinition, order: raw.Order) -> None:
        self._on_order_event(grid, order_event_from_order(order, grid))

    def _on_order_event(self, grid: InstrumentDefinition, event: OrderEvent | None) -> None:
        if event is None:
            return
        published = self.desks[grid.symbol].on_event(event)
        if published is not None:
            self.ledger.on_order(published)

    def _on_execution(
        self, grid: InstrumentDefinition, execution: raw.Execution, now_ns: int
    ) -> None:
        if execution.exec_type == "Funding":
            self.ledger.on_funding(funding_from_execution(execution, grid, now_ns))
            return
        fill = fill_from_execution(execution, grid, now_ns)
        fill = msgspec.structs.replace(fill, color=color_of(fill.client_order_id))
        if not self.ledger.on_fill(fill):
            return
        self.fills.append(fill)
        signed = fill.size_lots if fill.side is Side.BUY else -fill.size_lots
        self.positions[fill.symbol] += signed
        trip = self.risk.on_fill(
            fill.symbol, fill.fill_id, signed, fill.price_ticks, Decimal(fill.fee), now_ns
        )
        self._maybe_trip(trip, now_ns)

    def _after_change(self, symbol: str, now_ns: int) -> list[Request]:
        """After pushes: positions to risk and the quoter, then plan again (the executor wakes)."""
        position = self.positions[symbol]
        self._maybe_trip(self.risk.on_position(symbol, position), now_ns)
        quoter = self.quoters[symbol]
        requests: list[Request] = []
        if position != quoter.inventory_lots:
            requests += self._decided(symbol, quoter.on_position(position, now_ns), now_ns)
            requests += self._decided(symbol, quoter.on_fill(now_ns), now_ns)
            outcome = self.risk.recheck(symbol, now_ns)
            if outcome is not None and outcome.target is not None:
                requests += self._send(outcome.target, now_ns)
        return requests + self.desks[symbol].plan()

    def on_refusal(
        self, symbol: str, verb: str, cid: str, reason: str, now_ns: int
    ) -> list[Request]:
        rejected = self.desks[symbol].on_refusal(verb, cid, reason, now_ns)
        self.counts.add(f"refused_{verb}")
        if isinstance(rejected, OrderRejected):
            self.ledger.on_order(rejected)
            self._maybe_trip(self.risk.on_reject(now_ns, now_ns), now_ns)
        return self.desks[symbol].plan()

    # ---- clocks ------------------------------------------------------------------------------
    def on_timer(self, now_ns: int) -> list[Request]:
        """The quoter's refresh timer and risk's clock (we are the executor: heartbeat, EXEC)."""
        requests: list[Request] = []
        for symbol, quoter in self.quoters.items():
            requests += self._decided(symbol, quoter.on_timer(now_ns), now_ns)
        risk = self.risk
        risk.on_executor_heartbeat(now_ns)
        risk.on_exec_current(now_ns)
        self._maybe_trip(risk.evaluate(now_ns), now_ns)
        if risk.heal(now_ns):
            self.counts.add("halts_healed")
        for _stale, target in risk.freshness_pulls(now_ns):
            self.counts.add("freshness_pulls")
            requests += self._send(target, now_ns)
        for outcome in risk.retry_held(now_ns):
            if outcome.target is not None:
                requests += self._send(outcome.target, now_ns)
        return requests

    def _maybe_trip(self, trip: Trip | None, now_ns: int) -> None:
        if trip is None:
            return
        if self.risk.halt(trip.detail, trip.trigger.value, now_ns, is_transient(trip.trigger)):
            self.counts.add(f"halt_{trip.trigger.value}")
            for symbol in self.grids:
                self.halt_requests.extend(self._send(self.risk.cancel_all_target(symbol), now_ns))

"""The venue's engine: symbols, accounts, our orders' life cycle, market steps and event fan-out.

Every public method runs one action to completion and then flushes the events it produced (public
book changes and trades, private order/execution/position/wallet records) to the listeners, so the
wire layers see a consistent state after each action.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mm_sim.accounts import Account
from mm_sim.book import BUY, SELL, Fill, SymbolBook
from mm_sim.clock import Clock
from mm_sim.events import BookChanged, Event, PrivateRecords, PublicTrades
from mm_sim.fills import FillContext, apply_fill
from mm_sim.funding import next_funding_ms, settle_position
from mm_sim.instruments import Instrument
from mm_sim.market_model import MarketModel
from mm_sim.orders import Order
from mm_sim.replay import ReplayModel, replay_symbol
from mm_sim.settings import SimSettings
from mm_sim.wallet import wallet_record

RECENT_TRADES = 1000
SEQ_PER_MS = 1000  # room for 1000 sequence numbers per millisecond of the clock before a restart
SEEDED_FIRST_SEQ = 1_000_000
SymbolKey = tuple[str, str]


@dataclass
class SymbolState:
    """One symbol's book, market model, sequence and tape statistics."""

    instrument: Instrument
    book: SymbolBook
    model: MarketModel | ReplayModel
    seq: int = 0  # the cross sequence: trades, executions, positions (see Exchange)
    last_price_ticks: int = 0
    prev_price_ticks: int = 0
    high_ticks: int = 0
    low_ticks: int = 0
    volume_lots: int = 0
    turnover: Decimal = Decimal(0)
    last_tick_direction: str = "ZeroPlusTick"
    last_event_ms: int = 0
    recent_trades: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=RECENT_TRADES)
    )
    changed: BookChanged = field(init=False)  # this symbol's event, made once (it is immutable)

    def __post_init__(self) -> None:
        self.changed = BookChanged(self.instrument.category, self.instrument.symbol)


class Exchange:
    """All symbols and accounts; actions are synchronous and emit events when they finish."""

    def __init__(self, settings: SimSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        # Not secrets; unique per start unless `id_seed` asks for reproducible ids.
        self.ids = random.Random(settings.id_seed)  # noqa: S311
        self.listeners: list[Callable[[Event], None]] = []
        # The private topics whose records are built: None (all) for the venue's sockets; an
        # embedding that reads only some (a backtest reads order and execution) names them and
        # skips building the others (a position row per order change is most of an amend's cost).
        self.private_topics: frozenset[str] | None = None
        self.symbols: dict[SymbolKey, SymbolState] = {}
        for config in settings.instruments:
            instrument = Instrument(config)
            start = int(config.start_price / config.tick_size)
            key = (config.category, config.symbol)
            state = SymbolState(instrument, SymbolBook(), self._model(instrument, start))
            state.seq = self._first_seq()
            state.model.reshape(state.book)
            if isinstance(state.model, ReplayModel):
                best_bid, best_ask = state.model.best_prices()
                start = (best_bid + best_ask) // 2 or start
            state.last_price_ticks = state.prev_price_ticks = start
            state.high_ticks = state.low_ticks = start
            self.symbols[key] = state
        self.accounts = {
            key.uid: Account(key.uid, dict(settings.initial_balances)) for key in settings.api_keys
        }
        self._public: list[Event] = []
        self._private: dict[tuple[int, str], list[dict[str, Any]]] = {}
        self.next_funding_ms = next_funding_ms(clock.now_ms(), settings.funding_interval_ms)

    def _first_seq(self) -> int:
        """Bybit's cross sequence never goes back: started from the clock, it keeps rising across
        a restart of the simulator, so fills from before a restart still compare lower. With
        `id_seed` (reproducible runs) it starts at a fixed number, like the ids."""
        if self.settings.id_seed is not None:
            return SEEDED_FIRST_SEQ
        return self.clock.now_ms() * SEQ_PER_MS

    def _model(self, instrument: Instrument, start: int) -> MarketModel | ReplayModel:
        """The replay file drives its symbol (in `replay_category`); the others are synthetic."""
        settings = self.settings
        if settings.replay_file and instrument.category == settings.replay_category:
            path = Path(settings.replay_file)
            if replay_symbol(path) == instrument.symbol:
                model = ReplayModel(path, instrument)
                model.trades_before_move()
                return model
        key = f"{(instrument.category, instrument.symbol)}"
        unit = instrument.config.model_lots_per_unit
        config = instrument.config.market_model(settings.market)
        return MarketModel(config, key, start, settings.seed, unit)

    # ---- lookups -------------------------------------------------------------------------
    def symbol(self, category: str, symbol: str) -> SymbolState | None:
        return self.symbols.get((category, symbol))

    def mark_price(self, key: SymbolKey) -> Decimal:
        state = self.symbols[key]
        best_bid, best_ask = state.model.best_prices()
        return state.instrument.tick_size * (best_bid + best_ask) / 2

    def marks(self) -> dict[SymbolKey, Decimal]:
        return {key: self.mark_price(key) for key in self.symbols}

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def next_seq(self, state: SymbolState) -> int:
        state.seq += self.ids.randint(1, 7)
        return state.seq

    # ---- market --------------------------------------------------------------------------
    def step(self, steps: int = 1) -> None:
        """Advance every symbol's market model by `steps` steps (trades, mid move, reshape)."""
        for _ in range(steps):
            for key, state in self.symbols.items():
                self._step_symbol(key, state)
            self.settle_funding_when_due()
            self.flush()

    def step_symbol(self, key: SymbolKey) -> None:
        """One market step of one symbol only: a backtest steps a symbol when its frame arrives."""
        self._step_symbol(key, self.symbols[key])
        self.settle_funding_when_due()
        self.flush()

    def settle_funding_when_due(self) -> None:
        """At each settlement time, charge every open linear position its funding."""
        now = self.clock.now_ms()
        if now < self.next_funding_ms:
            return
        self.next_funding_ms = next_funding_ms(now, self.settings.funding_interval_ms)
        for account in self.accounts.values():
            for key, position in list(account.positions.items()):
                if position.instrument.category != "linear":
                    continue
                record = settle_position(
                    account,
                    position,
                    self.mark_price(key),
                    self.settings.funding_rate,
                    now,
                    self.new_id(),
                )
                if record is not None:
                    self.emit_private(account.uid, "execution", record)
                    self.emit_position(account.uid, position.instrument)
                    self.emit_wallet(account.uid)

    def market_trade(self, key: SymbolKey, taker_side: str, lots: int) -> int:
        """A market participant's taker order of `lots`; returns the lots it traded."""
        state = self.symbols[key]
        fills = state.book.take(taker_side, lots, None, include_ours=True)
        self._market_fills(state, taker_side, fills)
        self.flush()
        return sum(fill.lots for fill in fills)

    def _step_symbol(self, key: SymbolKey, state: SymbolState) -> None:
        for intent in state.model.trades_before_move():
            if intent.price_ticks is None:
                fills = state.book.take(intent.side, intent.lots, None, include_ours=True)
                self._market_fills(state, intent.side, fills)
            else:
                self._replayed_trade(state, intent.side, intent.price_ticks, intent.lots)
        state.model.move()
        state.model.reshape(state.book)
        for order in state.book.crossed_orders():
            taker = SELL if order.is_buy else BUY
            fill = Fill(order.price_ticks, order.resting_lots, order)
            state.book.remove(order)
            self._market_fills(state, taker, [fill])
        self._public.append(state.changed)

    def _market_fills(self, state: SymbolState, taker_side: str, fills: list[Fill]) -> None:
        """Publish a market participant's trade and book our orders' maker fills inside it."""
        seq = self.next_seq(state) if fills else 0  # one match: its fills share a seq
        for fill in fills:
            self.record_trade(state, taker_side, fill.price_ticks, fill.lots, seq)
            if fill.maker is not None:
                self.fill_ours(state, fill.maker, fill.price_ticks, fill.lots, True, seq)
        if fills:
            self.book_changed(state)

    def book_changed(self, state: SymbolState) -> None:
        self._public.append(state.changed)

    def _replayed_trade(self, state: SymbolState, taker_side: str, price: int, lots: int) -> None:
        """Print a recorded trade on the tape and fill our orders it reaches."""
        seq = self.next_seq(state)
        self.record_trade(state, taker_side, price, lots, seq)
        for fill in state.book.replay_trade(taker_side, price, lots):
            if fill.maker is not None:
                self.fill_ours(state, fill.maker, fill.price_ticks, fill.lots, True, seq)
        self.book_changed(state)

    def record_trade(
        self, state: SymbolState, taker_side: str, price: int, lots: int, seq: int
    ) -> None:
        instrument = state.instrument
        now = self.clock.now_ms()
        if price > state.last_price_ticks:
            state.last_tick_direction = "PlusTick"
        elif price < state.last_price_ticks:
            state.last_tick_direction = "MinusTick"
        else:
            state.last_tick_direction = "Zero" + state.last_tick_direction.removeprefix("Zero")
        state.last_price_ticks = price
        state.high_ticks = max(state.high_ticks, price)
        state.low_ticks = min(state.low_ticks, price)
        state.volume_lots += lots
        state.turnover += instrument.price(price) * instrument.qty(lots)
        state.last_event_ms = now
        trade = {
            "T": now,
            "s": instrument.symbol,
            "S": taker_side,
            "v": instrument.qty_text(lots),
            "p": instrument.price_text(price),
            "L": state.last_tick_direction,
            "i": self.new_id(),
            "BT": False,
            "RPI": False,
            "seq": seq,
        }
        state.recent_trades.appendleft(trade)
        self._public.append(PublicTrades(instrument.category, instrument.symbol, [trade]))

    def fill_ours(
        self, state: SymbolState, order: Order, price: int, lots: int, is_maker: bool, seq: int
    ) -> None:
        account = self.accounts[order.uid]
        key = (state.instrument.category, state.instrument.symbol)
        context = FillContext(
            now_ms=self.clock.now_ms(),
            seq=seq,
            maker_fee_rate=self.settings.maker_fee_rate,
            taker_fee_rate=self.settings.taker_fee_rate,
            mark_price=self.mark_price(key),
            exec_id=self.new_id(),
            leverage=account.leverage_of(key, self.settings.leverage),
        )
        record = apply_fill(account, order, price, lots, is_maker, context)
        self.emit_private(order.uid, "execution", record)
        self.emit_order(order)
        if state.instrument.category == "linear":
            self.emit_position(order.uid, state.instrument)
        self.emit_wallet(order.uid)

    # ---- private records ---------------------------------------------------------------------
    def wants(self, topic: str) -> bool:
        """Whether records of the private `topic` are built (see `private_topics`)."""
        return self.private_topics is None or topic in self.private_topics

    def emit_private(self, uid: int, topic: str, record: dict[str, Any]) -> None:
        self._private.setdefault((uid, topic), []).append(record)

    def emit_order(self, order: Order) -> None:
        if not order.is_open:
            account = self.accounts[order.uid]
            if order not in account.closed:
                account.forget_closed(order)
        self.emit_private(order.uid, "order", self.order_record(order))

    def order_record(self, order: Order) -> dict[str, Any]:
        """The private `order` record of the order as it is now: Bybit's shape (`Order.record`).
        An embedding that reads its records in process (a backtest) may hand on a lighter one."""
        return order.record()

    def emit_position(self, uid: int, instrument: Instrument) -> None:
        key = (instrument.category, instrument.symbol)
        position = self.accounts[uid].position(instrument, self.clock.now_ms())
        if not self.wants("position"):
            return
        records = self._private.setdefault((uid, "position"), [])
        records[:] = [r for r in records if r["symbol"] != instrument.symbol]
        leverage = self.accounts[uid].leverage_of(key, self.settings.leverage)
        records.append(position.record(self.mark_price(key), leverage, rest_shape=False))

    def emit_wallet(self, uid: int) -> None:
        if not self.wants("wallet"):
            return
        record = wallet_record(self.accounts[uid], self.marks(), self.settings.leverage)
        self._private[(uid, "wallet")] = [record]

    def note_request(self, uid: int, kind: str, order: Order) -> None:
        """Record an accepted create or amend (wall time, sequence) for `/sim/admin/requests`."""
        requests = self.accounts[uid].requests
        requests.append(
            {
                "seq": (requests[-1]["seq"] + 1) if requests else 1,
                "ts_ms": time.time_ns() // 1_000_000,
                "kind": kind,
                "symbol": order.instrument.symbol,
                "orderId": order.order_id,
                "orderLinkId": order.order_link_id,
            }
        )

    def flush(self) -> None:
        """Hand the events of the finished action to every listener, public ones first."""
        if not self._public and not self._private:
            return
        public, self._public = self._public, []
        private, self._private = self._private, {}
        seen: set[tuple[str, str]] = set()  # the BookChanged already passed on, by its fields
        events: list[Event] = []
        for event in public:
            if isinstance(event, BookChanged):
                key = (event.category, event.symbol)
                if key in seen:
                    continue
                seen.add(key)
            events.append(event)
        for (uid, topic), records in private.items():
            events.append(PrivateRecords(uid, topic, records))
        for event in events:
            for listener in list(self.listeners):
                listener(event)

"""The simulated venue of a backtest: the simulator's own engine, stepped by recorded frames.

`Venue` holds an `mm_sim.Exchange` (matching with queue position, trade-through, post-only,
fees and rebates, positions, funding) whose symbols are driven by `RecordedMarket` instead of the
synthetic model: a book frame sets the displayed levels, a trade frame prints the recorded trades
(eating our queue at their price, filling what they trade through). Orders go in at the time
the latency model says they arrive: creates as the venue's own request bodies through
`OrderEntry`, amends and cancels as the ticks and lots their bodies would carry, straight into
`OrderChanges` (the body itself when its decimals would not parse back unchanged). Every private
record the engine emits is collected for the caller to deliver; order pushes come as contract
events (`mm_backtest.pushes`).

Our gateway sees either the recorded frames themselves or, with `feed: venue`, the simulator's
public feed of this book (`PublicFeed`: the recorded market plus our own resting orders, as a
live venue publishes them; what the stack sees when the simulator replays a recording).

Queue models: "sim" is the simulator's (size cancelled at our price shrinks the queue ahead of
us only when the level falls below it: cancels come from behind first). "probabilistic" is
hftbacktest's power model: a decrease of `d` lots at our price is taken from ahead of us with
probability ahead^n / (ahead^n + behind^n), applied as its expected value.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import msgspec

from mm_backtest import grids
from mm_backtest.desk import Change
from mm_backtest.params import BacktestParams
from mm_backtest.pushes import BacktestExchange
from mm_backtest.source import BOOK, TRADE, Frame
from mm_bybit.order_requests import AmendOrder, CancelOrder, amend_request, cancel_request
from mm_sim.book import BUY, SELL, SymbolBook
from mm_sim.errors import BybitError
from mm_sim.events import Event, PrivateRecords
from mm_sim.exchange import SymbolState
from mm_sim.faults import Faults
from mm_sim.instruments import MAX_PRICE_TICKS, Instrument
from mm_sim.market_model import TradeIntent
from mm_sim.order_changes import OrderChanges
from mm_sim.order_entry import OrderEntry
from mm_sim.public_feed import PublicFeed
from mm_sim.settings import FaultConfig, MarketModelConfig, SimSettings

UID = 1001
PRUNE_EVERY = 256  # requests
_NS_PER_MS = 1_000_000
# What the executor reads of the venue's private pushes; the engine builds no other records.
_PRIVATE_TOPICS = frozenset({"order", "execution"})


class VirtualClock:
    """The venue's clock: whatever time the backtest's event loop has reached."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def now_ms(self) -> int:
        return self.now_ns // _NS_PER_MS


class _Units:
    """Decimal strings to ticks and lots the way the simulator's replay converts them, memoised
    (a recording repeats the same prices and sizes over and over)."""

    def __init__(self, instrument: Instrument) -> None:
        self.tick = instrument.tick_size
        self.step = instrument.qty_step
        self.known_ticks: dict[str, int] = {}  # read directly on the hot path
        self.known_lots: dict[str, int] = {}

    def ticks(self, text: str) -> int:
        value = self.known_ticks.get(text)
        if value is None:
            value = self.known_ticks[text] = int(Decimal(text) / self.tick)
        return value

    def lots(self, text: str) -> int:
        value = self.known_lots.get(text)
        if value is None:
            value = self.known_lots[text] = int(Decimal(text) / self.step)
        return value


class RecordedMarket:
    """One symbol's market model fed from outside: the simulator's model interface."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.units = _Units(instrument)
        self.trades: list[TradeIntent] = []
        self.levels: tuple[bool, list[tuple[int, int]], list[tuple[int, int]]] | None = None
        self._best = (0, 0)
        self.mid_ticks = 0.0

    def trades_before_move(self) -> list[TradeIntent]:
        trades, self.trades = self.trades, []
        return trades

    def move(self) -> None:
        """Nothing to draw: the recorded frame is the move."""

    def reshape(self, book: SymbolBook) -> None:
        levels, self.levels = self.levels, None
        if levels is None:
            return
        snapshot, bids, asks = levels
        if snapshot:
            for side in (BUY, SELL):
                for price in list(book.market_side(side)):
                    book.set_market_level(side, price, 0)
        for side, rows in ((BUY, bids), (SELL, asks)):
            for price, size in rows:
                book.set_market_level(side, price, size)
        best_bid, best_ask = book.best_market(BUY), book.best_market(SELL)
        if best_bid is not None and best_ask is not None:
            self._best = (best_bid, best_ask)
            self.mid_ticks = (best_bid + best_ask) / 2

    def best_prices(self) -> tuple[int, int]:
        return self._best

    def load(self, message: dict[str, Any], kind: str) -> None:
        """Convert a frame's levels or trades for the next step; ValueError (nothing changed)
        when a field is missing or not a decimal."""
        data = message.get("data")
        units = self.units
        ticks, lots = units.ticks, units.lots
        known_ticks, known_lots = units.known_ticks, units.known_lots
        try:
            if kind == BOOK:
                if not isinstance(data, dict):
                    raise ValueError("book frame without a data object")
                bids = [
                    (
                        known_ticks[p] if p in known_ticks else ticks(p),
                        known_lots[s] if s in known_lots else lots(s),
                    )
                    for p, s in data.get("b") or []
                ]
                asks = [
                    (
                        known_ticks[p] if p in known_ticks else ticks(p),
                        known_lots[s] if s in known_lots else lots(s),
                    )
                    for p, s in data.get("a") or []
                ]
                self.levels = (message.get("type") == "snapshot", bids, asks)
                return
            if not isinstance(data, list):
                raise ValueError("trade frame without a data list")
            trades = [
                TradeIntent(item["S"], max(1, lots(item["v"])), False, ticks(item["p"]))
                for item in data
            ]
        except (KeyError, TypeError, ArithmeticError) as error:
            raise ValueError(f"unreadable {kind} frame: {error!r}") from None
        if any(trade.side not in (BUY, SELL) for trade in trades):
            raise ValueError("trade frame with a side other than Buy or Sell")
        self.trades = trades


class ProbabilisticQueueBook(SymbolBook):
    """The simulator's book with hftbacktest's probabilistic queue advance on size decreases."""

    def __init__(self, power: float) -> None:
        super().__init__()
        self.power = power

    def set_market_level(self, side: str, price: int, lots: int) -> None:
        before = self.market_side(side).get(price, 0)
        decrease = before - max(lots, 0)
        if decrease > 0:
            for order in self.our_side(side).get(price, ()):
                ahead = order.queue_ahead_lots
                behind = max(0, before - ahead)
                weight = ahead**self.power
                total = weight + behind**self.power
                if total > 0:
                    order.queue_ahead_lots = max(0, ahead - round(decrease * weight / total))
        super().set_market_level(side, price, lots)


class Venue:
    """The exchange, its order entry and the private records waiting to be delivered."""

    def __init__(self, params: BacktestParams, clock: VirtualClock) -> None:
        settings = SimSettings(
            instruments=params.instruments,
            maker_fee_rate=params.venue.maker_fee_rate,
            taker_fee_rate=params.venue.taker_fee_rate,
            initial_balances=params.venue.initial_balances,
            funding_rate=params.venue.funding_rate,
            seed=params.seed,
            id_seed=params.seed,
            market=MarketModelConfig(auto_step=False),
        )
        self.clock = clock
        self.grids = {c.symbol: grids.definition(c) for c in params.instruments}
        self.exchange = BacktestExchange(settings, clock, self.grids)
        self.entry = OrderEntry(self.exchange)
        self.changes = OrderChanges(self.entry)
        self.depth_topic = f"orderbook.{params.depth}."
        self.markets: dict[str, tuple[tuple[str, str], RecordedMarket]] = {}
        for key, state in self.exchange.symbols.items():
            market = RecordedMarket(state.instrument)
            state.model = market  # type: ignore[assignment]  # the same model interface
            state.book = (
                ProbabilisticQueueBook(params.queue_power)
                if params.queue == "probabilistic"
                else SymbolBook()
            )
            self.markets[key[1]] = (key, market)
        self.records: list[PrivateRecords] = []
        self.exchange.private_topics = _PRIVATE_TOPICS
        self.exchange.listeners.append(self._on_event)
        self.published: list[Frame] = []
        if params.feed == "venue":
            self._subscribe_public(params.depth)
        self._requests = 0
        self._bounds = {
            symbol: (self.state(symbol), *bounds)
            for symbol, bounds in (
                (symbol, _lot_bounds(self.state(symbol).instrument)) for symbol in self.grids
            )
            if symbol in self.markets and bounds is not None and symbol in self.exchange.grids
        }

    def _subscribe_public(self, depth: int) -> None:
        """The simulator's public feed (its book with our orders in it) as our gateway's input."""
        feed = PublicFeed(self.exchange, Faults(FaultConfig()))
        for number, (category, symbol) in enumerate(self.exchange.symbols):
            for topic, kind in (
                (f"orderbook.{depth}.{symbol}", BOOK),
                (f"publicTrade.{symbol}", TRADE),
            ):
                feed.subscribe(category, topic, number, self._sink(symbol, kind))

    def _sink(self, symbol: str, kind: str) -> Callable[[bytes], None]:
        def publish(payload: bytes) -> None:
            self.published.append(Frame(self.clock.now_ns, kind, symbol, payload, {}))

        return publish

    def take_published(self) -> list[Frame]:
        frames, self.published = self.published, []
        return frames

    def _on_event(self, event: Event) -> None:
        if isinstance(event, PrivateRecords) and event.topic in _PRIVATE_TOPICS:
            self.records.append(event)

    def drain(self) -> list[PrivateRecords]:
        records, self.records = self.records, []
        return records

    def state(self, symbol: str) -> SymbolState:
        return self.exchange.symbols[self.markets[symbol][0]]

    def on_frame(self, frame: Frame) -> bool:
        """Apply a recorded frame to the market; False when the venue does not trade the symbol
        or the frame is another depth's book; ValueError (market unchanged) for a bad frame."""
        found = self.markets.get(frame.symbol)
        if found is None:
            return False
        key, market = found
        if frame.kind == BOOK and not str(frame.message["topic"]).startswith(self.depth_topic):
            return False
        market.load(frame.message, frame.kind)
        self.exchange.step_symbol(key)
        return True

    def request(self, verb: str, cid: str, body: dict[str, Any] | Change) -> str:
        """Run one order request; "" when accepted, else the venue's refusal as text."""
        self._requests += 1
        if self._requests % PRUNE_EVERY == 0:
            self._prune()
        if isinstance(body, Change):
            state = self._direct(body)
            if state is not None:
                return self._change(verb, cid, body, state)
            body = self._body(verb, cid, body)
        handler: Callable[[int, dict[str, Any]], dict[str, Any]] = {
            "create": self.entry.create,
            "amend": self.changes.amend,
            "cancel": self.changes.cancel,
        }[verb]
        try:
            handler(UID, body)
        except BybitError as error:
            return f"{error.code}: {error.message}"
        return ""

    def _direct(self, change: Change) -> SymbolState | None:
        """The symbol's state when the change needs no request body: the values are ones the
        body's decimals would parse back to unchanged and within the venue's bounds."""
        found = self._bounds.get(change.symbol)
        if found is None:
            return None
        state, min_lots, max_lots = found
        price, size = change.price_ticks, change.size_lots
        if price is not None and not 0 < price <= MAX_PRICE_TICKS:
            return None
        if size is not None and not min_lots <= size <= max_lots:
            return None
        return state

    def _change(self, verb: str, cid: str, change: Change, state: SymbolState) -> str:
        """An amend or cancel straight into the simulator's order changes (what `amend` and
        `cancel` do after parsing the body; the request audit is left out)."""
        changes = self.changes
        try:
            if verb == "amend":
                order = changes.find_open(UID, state, "", cid, "replace")
                changes.amend_to(state, order, change.size_lots, change.price_ticks)
            else:
                changes.finish_cancel(changes.find_open(UID, state, "", cid), "CancelByUser")
        except BybitError as error:
            return f"{error.code}: {error.message}"
        finally:
            self.exchange.flush()
        return ""

    def _body(self, verb: str, cid: str, change: Change) -> dict[str, Any]:
        """The venue request body of a change, as the executor writes it."""
        grid = self.grids[change.symbol]
        if verb == "amend":
            request: AmendOrder | CancelOrder = amend_request(
                grid, cid, price_ticks=change.price_ticks, size_lots=change.size_lots
            )
        else:
            request = cancel_request(grid, client_order_id=cid)
        return dict(msgspec.to_builtins(request))

    def _prune(self) -> None:
        """Forget closed orders and the audit history: the simulator keeps every order of a
        session (its order queries read them), which makes each new order's checks scan them
        all. A backtest never queries a closed order (its client ids never repeat, and an amend
        or cancel of a closed one is refused the same way when it is unknown)."""
        account = self.exchange.accounts[UID]
        for order_id, order in list(account.orders.items()):
            if not order.is_open:
                del account.orders[order_id]
                account.link_ids.pop(order.order_link_id, None)
        account.executions.clear()
        account.closed_pnl.clear()
        account.closed.clear()


def _lot_bounds(instrument: Instrument) -> tuple[int, int] | None:
    """[min, max] order lots exactly as `Instrument.parse_qty` bounds a quantity, or None."""
    step, config = instrument.qty_step, instrument.config
    low = int((config.min_order_qty / step).to_integral_value(rounding=ROUND_CEILING))
    high = int((config.max_order_qty / step).to_integral_value(rounding=ROUND_FLOOR))
    exact = (
        low * step >= config.min_order_qty > (low - 1) * step
        and high * step <= config.max_order_qty < (high + 1) * step
    )
    return (low, high) if exact and low <= high else None

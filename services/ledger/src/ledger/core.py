"""The ledger's pure core: book tops, fills, funding and order events in; exact figures out.

No NATS, no asyncio, no clock of its own: every time is the venue time carried by the input, so
the same inputs give the same figures in the service, a backtest or a benchmark. Fills and
funding settlements are de-duplicated by their venue ids. `flush` closes the current window and
returns one KpiSnapshot per (symbol, side, color) that saw anything, plus the `all` row of every
color with a position or resting orders, which also carries the state a restarted ledger resumes
from (`restore`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from ledger.figures import Figures, SnapshotContext, to_snapshot
from ledger.markouts import HEADLINE_HORIZON, MarkoutQueue, PendingMarkout, resolve
from ledger.marks import MidHistory
from ledger.quoting import RestingOrder, spans
from ledger.resume import Cuts, apply_state, decode_state, encode_state
from ledger.symbol_books import SymbolBook
from mm_proto import (
    BookTop,
    Fill,
    FundingSettlement,
    InstrumentDefinition,
    KpiSnapshot,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    Side,
)

DEFAULT_HORIZONS_S = (1.0, 10.0, 60.0)
_RET_CODE = re.compile(r"\b(1\d{4}|[2-9]\d{4}|\d{6})\b")
_SEEN_LIMIT = 1_000_000


class UnknownSymbolError(ValueError):
    """An input for a symbol the ledger has no instrument definition of."""


class Ledger:
    """Exact PnL attribution, markouts and quoting KPIs for a set of instruments."""

    def __init__(self, horizons_s: tuple[float, ...] = DEFAULT_HORIZONS_S) -> None:
        self.horizons_s = horizons_s
        self.books: dict[str, SymbolBook] = {}
        self._seen: dict[str, None] = {}
        self.duplicates = 0
        self.exec_sequence = 0

    def add_instrument(self, instrument: InstrumentDefinition) -> None:
        """Open (or keep) the books of one instrument."""
        if instrument.symbol in self.books:
            return
        retention = int((max(self.horizons_s) + 60) * 1e9)
        self.books[instrument.symbol] = SymbolBook(
            instrument, MidHistory(retention), MarkoutQueue(self.horizons_s)
        )

    def book(self, symbol: str) -> SymbolBook:
        book = self.books.get(symbol)
        if book is None:
            raise UnknownSymbolError(f"no instrument definition for symbol {symbol!r}")
        return book

    # ---- market ----------------------------------------------------------------------------
    def on_top(self, top: BookTop) -> None:
        """Mark positions to the new mid, resolve due markouts, account quoting time."""
        if top.bid_price_ticks <= 0 or top.ask_price_ticks <= top.bid_price_ticks:
            return  # an empty side or a crossed book has no mid
        book = self.book(top.symbol)
        mid2 = top.bid_price_ticks + top.ask_price_ticks
        ts = top.ts_exchange_ns
        self._advance(book, ts)
        book.mids.record(ts, mid2)
        if book.mid2 is None:
            book.mid2 = mid2
            self._mark_unmarked(book)
        elif mid2 != book.mid2:
            move = mid2 - book.mid2
            book.mid2 = mid2
            for color, position in book.positions.items():
                if position:
                    units = position * move
                    book.row("all", color).inventory_units += units
                    book.total(color).inventory_units += units
                    book.note_net(color)
        for pending in book.markouts.due(ts):
            self._resolve(book, pending)

    def _advance(self, book: SymbolBook, ts: int) -> None:
        elapsed = ts - book.clock_ns
        if book.clock_ns == 0 or elapsed <= 0:
            book.clock_ns = max(book.clock_ns, ts)
            return
        book.clock_ns = ts
        for color, position in book.positions.items():
            if position:
                book.row("all", color).position_lot_nanos += position * elapsed
        if book.mid2 is None or not book.orders:
            return
        for span in spans(book.orders, book.mid2):
            row = book.row("all", span.color)
            row.observed_nanos += elapsed
            row.two_sided_nanos += elapsed if span.two_sided else 0
            row.depth_5bps_lot_nanos += span.depth_5bps_lots * elapsed
            row.depth_10bps_lot_nanos += span.depth_10bps_lots * elapsed

    def _resolve(self, book: SymbolBook, pending: PendingMarkout) -> None:
        mid2 = book.mids.at(pending.due_ns)
        if mid2 is None:
            return
        markout = resolve(pending, mid2, book.unit)
        book.row(markout.side, markout.color).add_markout(
            markout.horizon, markout.units, markout.notional_units, markout.toxic
        )
        if markout.horizon == HEADLINE_HORIZON:
            totals = book.total(markout.color)
            totals.headline_markout_units += markout.units
            totals.headline_notional_units += markout.notional_units

    # ---- fills and funding -------------------------------------------------------------------
    def _first_time(self, key: str) -> bool:
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = None
        if len(self._seen) > _SEEN_LIMIT:
            del self._seen[next(iter(self._seen))]
        return True

    def on_fill(self, fill: Fill) -> bool:
        """Book one fill once (by fill id); False for a repeat."""
        book = self.book(fill.symbol)
        if not self._first_time(f"fill:{fill.fill_id}"):
            return False
        signed = fill.size_lots if fill.side is Side.BUY else -fill.size_lots
        side, color = fill.side.value, fill.color
        fee = self._fee_in_quote(book, fill)
        row = book.row(side, color)
        row.fills += 1
        row.maker_fills += int(fill.is_maker)
        row.volume_lots += fill.size_lots
        notional = 2 * fill.price_ticks * fill.size_lots
        row.notional_units += notional
        row.fees += fee
        book.total(color).fees += fee
        all_row = book.row("all", color)  # opened before the change: extremes include the start
        book.positions[color] = book.positions.get(color, 0) + signed
        position = book.positions[color]
        all_row.position_min_lots = min(all_row.position_min_lots, position)
        all_row.position_max_lots = max(all_row.position_max_lots, position)
        if book.mid2 is None:
            book.unmarked_fills += 1
            book.pending_unmarked.append((side, color, signed, fill.price_ticks))
        else:
            self._value_fill(book, side, color, signed, fill, fee, notional)
        book.note_net(color)
        return True

    def _value_fill(
        self,
        book: SymbolBook,
        side: str,
        color: str,
        signed: int,
        fill: Fill,
        fee: Decimal,
        notional: int,
    ) -> None:
        assert book.mid2 is not None
        at_fill = book.mids.at(fill.ts_exchange_ns)
        mid_fill = book.mid2 if at_fill is None else at_fill
        spread = signed * (mid_fill - 2 * fill.price_ticks)
        catch_up = signed * (book.mid2 - mid_fill)
        book.row(side, color).spread_units += spread
        book.total(color).spread_units += spread
        book.row("all", color).inventory_units += catch_up
        book.total(color).inventory_units += catch_up
        for label, horizon_ns in book.markouts.horizons:
            pending = PendingMarkout(
                fill.ts_exchange_ns + horizon_ns,
                label,
                side,
                color,
                signed,
                2 * fill.price_ticks,
                fee,
                notional,
            )
            if pending.due_ns < book.mids.latest_ts_ns:
                self._resolve(book, pending)
            else:
                book.markouts.add(pending)

    def _mark_unmarked(self, book: SymbolBook) -> None:
        """Fills booked before the first mid: value their spread at this first mid."""
        assert book.mid2 is not None
        for side, color, signed, price in book.pending_unmarked:
            spread = signed * (book.mid2 - 2 * price)
            book.row(side, color).spread_units += spread
            book.total(color).spread_units += spread
        book.pending_unmarked.clear()

    @staticmethod
    def _fee_in_quote(book: SymbolBook, fill: Fill) -> Decimal:
        fee = Decimal(fill.fee)
        if not fee.is_finite():
            raise ValueError(f"fill {fill.fill_id}: fee must be a finite decimal, was {fill.fee!r}")
        if fill.fee_currency and fill.fee_currency == book.instrument.base_coin:
            return fee * Decimal(book.instrument.ticks_to_price(fill.price_ticks))
        return fee

    def on_funding(self, settlement: FundingSettlement) -> bool:
        """Book one funding settlement once (by its id), on the colors holding the position."""
        book = self.book(settlement.symbol)
        if not self._first_time(f"funding:{settlement.funding_id}"):
            return False
        fee = Decimal(settlement.fee)
        if not fee.is_finite():
            raise ValueError(f"funding {settlement.funding_id}: fee must be finite, was {fee}")
        for color, share in _shares(fee, book.positions).items():
            book.row("all", color).funding += share
            book.total(color).funding += share
            book.note_net(color)
        return True

    # ---- orders -------------------------------------------------------------------------------
    def on_order(self, event: OrderEvent) -> None:
        """Track what rests at the venue and count creates, amends, cancels and rejects."""
        book = self.book(event.symbol)
        self._advance(book, event.ts_event_ns)
        row = book.row(event.side.value, event.color)
        key = event.client_order_id
        if isinstance(event, OrderRejected):
            reason = _reject_key(event.reason)
            row.rejects[reason] = row.rejects.get(reason, 0) + 1
        elif isinstance(event, OrderAccepted):
            if key not in book.orders:
                row.orders_created += 1
            book.orders[key] = RestingOrder(
                event.side, event.price_ticks, event.size_lots, event.color, event.ts_event_ns
            )
        elif isinstance(event, OrderAmended):
            row.amends += 1
            resting = book.orders.get(key)
            if resting is not None:
                resting.price_ticks = event.price_ticks
        elif isinstance(event, OrderCancelled | OrderFilled):
            self._order_left_or_filled(book, row, event)

    @staticmethod
    def _order_left_or_filled(
        book: SymbolBook, row: Figures, event: OrderCancelled | OrderFilled
    ) -> None:
        resting = book.orders.get(event.client_order_id)
        if isinstance(event, OrderFilled) and event.leaves_lots > 0:
            if resting is not None:
                resting.leaves_lots = event.leaves_lots
            return
        if isinstance(event, OrderCancelled):
            row.cancels += 1
        if resting is not None:
            del book.orders[event.client_order_id]
            row.quote_age_nanos_sum += max(0, event.ts_event_ns - resting.ts_accepted_ns)
            row.quote_age_count += 1

    # ---- windows --------------------------------------------------------------------------
    def flush(
        self, ts_start_ns: int, ts_end_ns: int, cuts: Cuts | None = None
    ) -> list[KpiSnapshot]:
        """Close the window: a snapshot per key that saw anything; the next window starts empty.

        With `cuts` (where the service's input merge stands), each `all` row also carries the
        resume state a restarted ledger goes on from (`ledger.resume`).
        """
        snapshots = []
        for book in self.books.values():
            # Every color ever booked gets its `all` row: it carries the restart point.
            colors = {color for (_, color) in book.rows} | set(book.totals) | set(book.positions)
            for color in colors:
                book.row("all", color)
            for (side, color), figures in sorted(book.rows.items()):
                instrument = book.instrument
                context = SnapshotContext(
                    venue=instrument.venue,
                    category=instrument.category,
                    symbol=instrument.symbol,
                    side=side,
                    color=color,
                    ts_start_ns=ts_start_ns,
                    ts_end_ns=ts_end_ns,
                    unit=book.unit,
                    position_lots_end=book.positions.get(color, 0),
                    cumulative=book.total(color).components(book.unit) if side == "all" else {},
                    mid_end_half_ticks=book.mid2 or 0,
                    exec_sequence=self.exec_sequence,
                    resume_state=(
                        encode_state(book, color, cuts) if cuts and side == "all" else ""
                    ),
                )
                snapshots.append(to_snapshot(figures, context))
            book.rows.clear()
        return snapshots

    def restore(self, snapshots: Iterable[KpiSnapshot]) -> Cuts:
        """Resume from the latest `all` rows of an earlier life: positions, mark, net, sequence,
        and what was in flight; returns where the input merge stood (`Cuts`)."""
        cuts = Cuts()
        for snapshot in snapshots:
            if snapshot.side != "all" or snapshot.symbol not in self.books:
                continue
            book = self.books[snapshot.symbol]
            book.positions[snapshot.color] = snapshot.position_lots_end
            book.total(snapshot.color).restored = {
                "spread": Decimal(snapshot.cumulative_spread_pnl),
                "fees": Decimal(snapshot.cumulative_fee_pnl),
                "inventory": Decimal(snapshot.cumulative_inventory_pnl),
                "funding": Decimal(snapshot.cumulative_funding_pnl),
            }
            if snapshot.mid_end_half_ticks and book.mid2 is None:
                book.mid2 = snapshot.mid_end_half_ticks
            self.exec_sequence = max(self.exec_sequence, snapshot.exec_sequence)
            state = decode_state(snapshot.resume_state)
            if state is not None:
                apply_state(book, snapshot.color, state)
                cuts.exec_cut, cuts.marks_cut = state.exec_cut, state.marks_cut
                cuts.last_keys[snapshot.symbol] = state.last_key
        return cuts


def _shares(amount: Decimal, positions: dict[str, int]) -> dict[str, Decimal]:
    """Split a funding amount over colors by the size of their positions; the parts sum exactly."""
    holders = {color: abs(size) for color, size in positions.items() if size}
    if not holders:
        return {"blue": amount}
    total = sum(holders.values())
    colors = sorted(holders, key=lambda color: -holders[color])
    shares = {color: amount * holders[color] / total for color in colors[1:]}
    shares[colors[0]] = amount - sum(shares.values(), Decimal(0))
    return shares


def _reject_key(reason: str) -> str:
    """A reject's venue error code when the reason names one, else its first words."""
    found = _RET_CODE.search(reason)
    return found.group(1) if found else (reason.split(":")[0].strip()[:40] or "unknown")

"""Per-UID state: orders by id and link id, positions with average price and PnL, coin balances."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mm_sim.instruments import Instrument
from mm_sim.orders import Order, plain

RECENT_CLOSED_ORDERS = 500
MAX_REQUESTS = 200_000  # accepted creates and amends kept for audits (oldest dropped)


@dataclass
class Position:
    """A one-way (positionIdx 0) linear position: signed size, entry price and realised PnL."""

    instrument: Instrument
    size: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)
    cum_realised: Decimal = Decimal(0)
    cur_realised: Decimal = Decimal(0)
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = -1

    def apply_fill(self, signed_qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Add a fill; return the PnL it realised before fees (closing part only)."""
        realised = Decimal(0)
        if self.size == 0 or (self.size > 0) == (signed_qty > 0):
            total = abs(self.size) + abs(signed_qty)
            self.entry_price = (abs(self.size) * self.entry_price + abs(signed_qty) * price) / total
            self.size += signed_qty
        else:
            closing = min(abs(signed_qty), abs(self.size))
            direction = 1 if self.size > 0 else -1
            realised = closing * (price - self.entry_price) * direction
            self.size += signed_qty
            if self.size == 0:
                self.entry_price = Decimal(0)
            elif (self.size > 0) != (direction > 0):
                self.entry_price = price
        self.cum_realised += realised - fee
        self.cur_realised += realised - fee
        return realised

    def unrealised(self, mark: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.size if self.size else Decimal(0)

    def record(self, mark: Decimal, leverage: Decimal, rest_shape: bool) -> dict[str, Any]:
        """The position row; REST calls the entry price `avgPrice`, the WS topic `entryPrice`."""
        instrument = self.instrument
        side = "" if self.size == 0 else ("Buy" if self.size > 0 else "Sell")
        value = abs(self.size) * self.entry_price
        entry = plain(self.entry_price.quantize(instrument.tick_size / 10000))
        margin = plain(value / leverage)
        maintenance = plain(value * Decimal("0.005"))
        row: dict[str, Any] = {
            "category": instrument.category,
            "symbol": instrument.symbol,
            "side": side,
            "size": str(abs(self.size).quantize(instrument.qty_step)),
            "positionIdx": 0,
            "tradeMode": 0,
            "positionValue": plain(value),
            "riskId": 1,
            "riskLimitValue": "2000000",
            "markPrice": plain(mark),
            "liqPrice": "",
            "bustPrice": "",
            "breakEvenPrice": entry,
            "sessionAvgPrice": "",
            "leverage": plain(leverage),
            "autoAddMargin": 0,
            "positionBalance": margin,
            "positionIM": margin,
            "positionIMByMp": margin,
            "positionMM": maintenance,
            "positionMMByMp": maintenance,
            "isReduceOnly": False,
            "tpslMode": "Full",
            "takeProfit": "",
            "stopLoss": "",
            "trailingStop": "0",
            "unrealisedPnl": plain(self.unrealised(mark)),
            "curRealisedPnl": plain(self.cur_realised),
            "cumRealisedPnl": plain(self.cum_realised),
            "positionStatus": "Normal",
            "adlRankIndicator": 0 if self.size == 0 else 2,
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
            "seq": self.seq,
            "mmrSysUpdatedTime": "",
            "leverageSysUpdatedTime": "",
        }
        row["avgPrice" if rest_shape else "entryPrice"] = entry
        if rest_shape:
            row["mmrSysUpdateTime"] = ""  # the REST docs example spells it this way
        return row


@dataclass
class Account:
    """Everything one UID owns at the venue, plus its full execution history for test audits."""

    uid: int
    balances: dict[str, Decimal]
    cum_realised: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    link_ids: dict[str, str] = field(default_factory=dict)
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    closed: deque[Order] = field(default_factory=lambda: deque(maxlen=RECENT_CLOSED_ORDERS))
    executions: list[dict[str, Any]] = field(default_factory=list)
    # Every accepted create and amend, in order, with who sent it (the orderLinkId carries the
    # sender): what a test reads to check a single writer per symbol (`/sim/admin/requests`).
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_REQUESTS))
    dcp_window_s: dict[str, int] = field(default_factory=dict)
    leverage: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    open_fees: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    closed_pnl: list[dict[str, Any]] = field(default_factory=list)

    def leverage_of(self, key: tuple[str, str], default: Decimal) -> Decimal:
        """The leverage set for a symbol (`/v5/position/set-leverage`), else the venue default."""
        return self.leverage.get(key, default)

    def open_orders(self) -> list[Order]:
        return [order for order in self.orders.values() if order.is_open]

    def find(self, order_id: str, order_link_id: str) -> Order | None:
        """Look an order up by id (which wins) or by link id; closed ones are included."""
        if order_id:
            return self.orders.get(order_id)
        if order_link_id and order_link_id in self.link_ids:
            return self.orders.get(self.link_ids[order_link_id])
        return None

    def position(self, instrument: Instrument, now_ms: int) -> Position:
        key = (instrument.category, instrument.symbol)
        if key not in self.positions:
            self.positions[key] = Position(instrument, created_ms=now_ms, updated_ms=now_ms)
        return self.positions[key]

    def credit(self, coin: str, amount: Decimal) -> None:
        self.balances[coin] = self.balances.get(coin, Decimal(0)) + amount

    def realise(self, coin: str, amount: Decimal) -> None:
        self.cum_realised[coin] = self.cum_realised.get(coin, Decimal(0)) + amount

    def forget_closed(self, order: Order) -> None:
        self.closed.appendleft(order)

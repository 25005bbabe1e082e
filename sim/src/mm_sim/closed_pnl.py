"""Closed-PnL records: one row per order that closed (part of) a linear position.

A row adds up every closing fill of its order (`fillCount`), with the entry value at the position's
average price, the exit value, the opening fees that the closed part carried and the closing fees;
`closedPnl` is gross PnL minus both fees, as `/v5/position/closed-pnl` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mm_sim.accounts import Account
from mm_sim.orders import Order, plain


@dataclass(frozen=True)
class ClosingFill:
    """One fill of `order` as it met the position: sizes unsigned, fee in the settle coin."""

    qty: Decimal
    closed: Decimal
    size_before: Decimal
    entry_before: Decimal
    price: Decimal
    fee: Decimal
    now_ms: int
    leverage: Decimal


def book_fees_and_close(account: Account, order: Order, fill: ClosingFill) -> None:
    """Track opening fees per position; add a closing fill to its order's closed-PnL row."""
    key = (order.instrument.category, order.instrument.symbol)
    open_fee = account.open_fees.get(key, Decimal(0))
    carried = Decimal(0)
    if fill.closed and fill.size_before:
        carried = open_fee * fill.closed / fill.size_before
        open_fee -= carried
    close_fee = fill.fee * fill.closed / fill.qty
    account.open_fees[key] = open_fee + (fill.fee - close_fee)
    if fill.closed:
        _add_to_row(account, order, fill, carried, close_fee)


def _add_to_row(
    account: Account, order: Order, fill: ClosingFill, open_fee: Decimal, close_fee: Decimal
) -> None:
    row = next((r for r in reversed(account.closed_pnl) if r["orderId"] == order.order_id), None)
    if row is None:
        row = _new_row(order, fill)
        account.closed_pnl.append(row)
    totals = row["_totals"]
    direction = 1 if order.side == "Sell" else -1  # closing a long sells, a short buys
    totals["closed"] += fill.closed
    totals["entry"] += fill.closed * fill.entry_before
    totals["exit"] += fill.closed * fill.price
    totals["open_fee"] += open_fee
    totals["close_fee"] += close_fee
    totals["gross"] += direction * fill.closed * (fill.price - fill.entry_before)
    row["fillCount"] = str(int(row["fillCount"]) + 1)
    row["updatedTime"] = str(fill.now_ms)


def _new_row(order: Order, fill: ClosingFill) -> dict[str, Any]:
    instrument = order.instrument
    zero = Decimal(0)
    return {
        "symbol": instrument.symbol,
        "orderType": order.order_type,
        "leverage": plain(fill.leverage),
        "side": order.side,
        "orderId": order.order_id,
        "qty": instrument.qty_text(order.qty_lots),
        "orderPrice": instrument.price_text(order.price_ticks),
        "execType": "Trade",
        "fillCount": "0",
        "createdTime": str(fill.now_ms),
        "updatedTime": str(fill.now_ms),
        "_totals": dict.fromkeys(
            ("closed", "entry", "exit", "open_fee", "close_fee", "gross"), zero
        ),
    }


def closed_pnl_record(row: dict[str, Any], tick_size: Decimal) -> dict[str, Any]:
    """The wire shape of a row (strings throughout)."""
    totals = row["_totals"]
    closed = totals["closed"]
    avg_entry = totals["entry"] / closed if closed else Decimal(0)
    avg_exit = totals["exit"] / closed if closed else Decimal(0)
    pnl = totals["gross"] - totals["open_fee"] - totals["close_fee"]
    public = {k: v for k, v in row.items() if not k.startswith("_")}
    return public | {
        "closedSize": plain(closed),
        "cumEntryValue": plain(totals["entry"]),
        "avgEntryPrice": plain(avg_entry.quantize(tick_size / 1000)),
        "cumExitValue": plain(totals["exit"]),
        "avgExitPrice": plain(avg_exit.quantize(tick_size / 1000)),
        "closedPnl": plain(pnl),
        "openFee": plain(totals["open_fee"]),
        "closeFee": plain(totals["close_fee"]),
    }

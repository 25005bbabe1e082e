"""Funding on linear perpetual positions: when it is due, what each position pays or receives.

As on Bybit, funding settles at fixed times (every `funding_interval_ms` of venue time, counted from
the epoch): a long pays `size * mark * rate` to the shorts when the rate is positive and receives it
when negative. Each settlement is an `execution` row with execType `Funding` (side the position's,
execQty its size, execPrice the mark, execFee the amount: positive paid, negative received) and
moves the wallet balance and the position's realised PnL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.accounts import Account, Position
from mm_sim.orders import plain


def next_funding_ms(now_ms: int, interval_ms: int) -> int:
    """The next settlement time strictly after `now_ms`."""
    return (now_ms // interval_ms + 1) * interval_ms


def settle_position(
    account: Account,
    position: Position,
    mark: Decimal,
    rate: Decimal,
    now_ms: int,
    exec_id: str,
) -> dict[str, Any] | None:
    """Charge one position its funding; the execution row, or None for a flat position."""
    if position.size == 0:
        return None
    instrument = position.instrument
    value = abs(position.size) * mark
    fee = position.size * mark * rate  # signed size: a long pays a positive rate
    coin = instrument.settle_coin
    account.credit(coin, -fee)
    account.realise(coin, -fee)
    position.cum_realised -= fee
    position.cur_realised -= fee
    position.updated_ms = now_ms
    record: dict[str, Any] = {
        "category": instrument.category,
        "symbol": instrument.symbol,
        "orderId": "",
        "orderLinkId": "",
        "side": "Buy" if position.size > 0 else "Sell",
        "orderPrice": "0",
        "orderQty": "0",
        "leavesQty": "0",
        "orderType": "UNKNOWN",
        "stopOrderType": "UNKNOWN",
        "createType": "",
        "isLeverage": "",
        "marketUnit": "",
        "execId": exec_id,
        "execPrice": plain(mark),
        "execQty": str(abs(position.size).quantize(instrument.qty_step)),
        "execValue": plain(value),
        "execFee": plain(fee),
        "feeRate": plain(rate),
        "feeCurrency": coin,
        "execPnl": "0",
        "closedSize": "0",
        "isMaker": False,
        "execType": "Funding",
        "execTime": str(now_ms),
        "seq": 0,
        "markPrice": plain(mark),
        "indexPrice": plain(mark),
        "underlyingPrice": "",
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "extraFees": [],
    }
    account.executions.append(record)
    return record

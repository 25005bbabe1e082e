"""The UNIFIED wallet view of an account: equity, margin and per-coin rows, as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.accounts import Account
from mm_sim.orders import plain

MAINTENANCE_RATE = Decimal("0.005")


def margin_in_use(
    account: Account, marks: dict[tuple[str, str], Decimal], leverage: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(position IM, open-order IM, unrealised PnL) over the account's linear business."""
    position_margin = Decimal(0)
    unrealised = Decimal(0)
    for key, position in account.positions.items():
        mark = marks.get(key, position.entry_price)
        position_margin += abs(position.size) * mark / account.leverage_of(key, leverage)
        unrealised += position.unrealised(mark)
    order_margin = Decimal(0)
    for order in account.open_orders():
        instrument = order.instrument
        if instrument.category == "linear":
            notional = instrument.price(order.price_ticks) * instrument.qty(order.leaves_lots)
            key = (instrument.category, instrument.symbol)
            order_margin += notional / account.leverage_of(key, leverage)
    return position_margin, order_margin, unrealised


def available_balance(
    account: Account, marks: dict[tuple[str, str], Decimal], leverage: Decimal, coin: str
) -> Decimal:
    """What a new linear order may still commit in `coin`."""
    position_margin, order_margin, unrealised = margin_in_use(account, marks, leverage)
    return account.balances.get(coin, Decimal(0)) + unrealised - position_margin - order_margin


def wallet_record(
    account: Account,
    marks: dict[tuple[str, str], Decimal],
    leverage: Decimal,
    coins: list[str] | None = None,
) -> dict[str, Any]:
    """The `wallet` topic item and the `/v5/account/wallet-balance` list item."""
    position_margin, order_margin, unrealised = margin_in_use(account, marks, leverage)
    wanted = coins if coins else [c for c, amount in sorted(account.balances.items()) if amount]
    rows = [_coin_row(account, coin, unrealised, position_margin, order_margin) for coin in wanted]
    usdt = account.balances.get("USDT", Decimal(0))
    equity = usdt + unrealised
    available = equity - position_margin - order_margin
    return {
        "accountType": "UNIFIED",
        "accountIMRate": plain(_rate(position_margin + order_margin, equity)),
        "accountIMRateByMp": plain(_rate(position_margin + order_margin, equity)),
        "accountMMRate": plain(_rate(position_margin * MAINTENANCE_RATE * 10, equity)),
        "accountMMRateByMp": plain(_rate(position_margin * MAINTENANCE_RATE * 10, equity)),
        "totalEquity": plain(equity),
        "totalWalletBalance": plain(usdt),
        "totalMarginBalance": plain(equity),
        "totalAvailableBalance": plain(available),
        "totalPerpUPL": plain(unrealised),
        "totalInitialMargin": plain(position_margin + order_margin),
        "totalInitialMarginByMp": plain(position_margin + order_margin),
        "totalMaintenanceMargin": plain(position_margin * MAINTENANCE_RATE * 10),
        "totalMaintenanceMarginByMp": plain(position_margin * MAINTENANCE_RATE * 10),
        "accountLTV": "0",
        "coin": rows,
    }


def _rate(numerator: Decimal, denominator: Decimal) -> Decimal:
    return (numerator / denominator).quantize(Decimal("0.0001")) if denominator > 0 else Decimal(0)


def _coin_row(
    account: Account,
    coin: str,
    unrealised: Decimal,
    position_margin: Decimal,
    order_margin: Decimal,
) -> dict[str, Any]:
    balance = account.balances.get(coin, Decimal(0))
    is_settle = coin == "USDT"
    coin_unrealised = unrealised if is_settle else Decimal(0)
    return {
        "coin": coin,
        "equity": plain(balance + coin_unrealised),
        "usdValue": plain(balance + coin_unrealised) if is_settle else "0",
        "walletBalance": plain(balance),
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": plain(order_margin) if is_settle else "0",
        "totalPositionIM": plain(position_margin) if is_settle else "0",
        "totalPositionMM": plain(position_margin * MAINTENANCE_RATE * 10) if is_settle else "0",
        "unrealisedPnl": plain(coin_unrealised),
        "cumRealisedPnl": plain(account.cum_realised.get(coin, Decimal(0))),
        "bonus": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
        "spotBorrow": "0",
        "availableToWithdraw": "",
        "availableToBorrow": "",
    }

"""Spot trading: balances in both coins, quote-sized market buys, spot retCodes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.testing import SimulatorHandle


async def balances(rest: Any) -> dict[str, Decimal]:
    reply = await rest.get(
        "/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT,BTC"}
    )
    return {
        row["coin"]: Decimal(row["walletBalance"]) for row in reply["result"]["list"][0]["coin"]
    }


async def test_spot_market_buy_in_quote_coin_and_limit_sell(
    sim: SimulatorHandle, rest: Any
) -> None:
    before = await balances(rest)
    buy = await rest.post(
        "/v5/order/create",
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "600",
        },
    )
    assert buy["retCode"] == 0
    executions = (await sim.admin.executions())["list"]
    assert {(e["feeCurrency"], e["category"], e["isMaker"]) for e in executions} == {
        ("BTC", "spot", False)
    }
    spent = sum(Decimal(e["execValue"]) for e in executions)
    got = sum(Decimal(e["execQty"]) - Decimal(e["execFee"]) for e in executions)
    assert Decimal("590") < spent <= Decimal("600")
    after = await balances(rest)
    assert after["USDT"] == before["USDT"] - spent
    assert after["BTC"] == before["BTC"] + got
    sell = await rest.post(
        "/v5/order/create",
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Limit",
            "qty": "0.005",
            "price": "90000.00",
            "orderLinkId": "spot-1",
        },
    )
    assert sell["retCode"] == 0
    duplicate = await rest.post(
        "/v5/order/create",
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Limit",
            "qty": "0.005",
            "price": "90000.00",
            "orderLinkId": "spot-1",
        },
    )
    assert duplicate["retCode"] == 170141
    missing = await rest.post(
        "/v5/order/cancel", {"category": "spot", "symbol": "BTCUSDT", "orderId": "nope"}
    )
    assert missing["retCode"] == 170213
    broke = await rest.post(
        "/v5/order/create",
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Limit",
            "qty": "50",
            "price": "90000.00",
        },
    )
    assert broke["retCode"] == 170131
    listed = await rest.get("/v5/order/realtime", {"category": "spot"})
    assert [row["orderLinkId"] for row in listed["result"]["list"]] == ["spot-1"]
    assert (await rest.get("/v5/position/list", {"category": "spot", "symbol": "BTCUSDT"}))[
        "retCode"
    ] == 10001

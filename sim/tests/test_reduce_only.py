"""Reduce-only orders never reverse a position: refused when they cannot reduce, trimmed to what
the position has left after the account's other reduce-only orders (as Bybit does)."""

from __future__ import annotations

from typing import Any

from mm_sim.testing import SimulatorHandle

POSITION = {"category": "linear", "symbol": "BTCUSDT"}


def order(side: str, qty: str, **extra: Any) -> dict[str, Any]:
    return {**POSITION, "side": side, "orderType": "Market", "qty": qty, **extra}


async def _position(rest: Any) -> tuple[str, str]:
    [row] = (await rest.get("/v5/position/list", POSITION))["result"]["list"]
    return row["side"], row["size"]


async def test_a_reduce_only_order_larger_than_the_position_only_closes_it(
    sim: SimulatorHandle, rest: Any
) -> None:
    assert (await rest.post("/v5/order/create", order("Buy", "0.005")))["retCode"] == 0
    assert await _position(rest) == ("Buy", "0.005")
    close = await rest.post("/v5/order/create", order("Sell", "0.020", reduceOnly=True))
    assert close["retCode"] == 0
    assert await _position(rest) == ("", "0.000")
    again = await rest.post("/v5/order/create", order("Sell", "0.001", reduceOnly=True))
    assert again["retCode"] == 110017


async def test_resting_reduce_only_orders_together_never_exceed_the_position(
    sim: SimulatorHandle, rest: Any
) -> None:
    assert (await rest.post("/v5/order/create", order("Sell", "0.004")))["retCode"] == 0
    book = (await rest.get("/v5/market/orderbook", {**POSITION, "limit": "1"}))["result"]
    below = f"{float(book['b'][0][0]) * 0.99:.1f}"  # rests: 1% under the best bid
    limit = {"orderType": "Limit", "price": below, "reduceOnly": True}
    first = await rest.post("/v5/order/create", order("Buy", "0.003", **limit))
    second = await rest.post("/v5/order/create", order("Buy", "0.003", **limit))
    assert (first["retCode"], second["retCode"]) == (0, 0)
    query = {**POSITION, "orderId": second["result"]["orderId"]}
    [resting] = (await rest.get("/v5/order/realtime", query))["result"]["list"]
    assert resting["qty"] == "0.001"  # trimmed: 0.004 short, 0.003 already held to close it
    third = await rest.post("/v5/order/create", order("Buy", "0.001", **limit))
    assert third["retCode"] == 110017
    same_side = await rest.post("/v5/order/create", order("Sell", "0.001", **limit))
    assert same_side["retCode"] == 110017

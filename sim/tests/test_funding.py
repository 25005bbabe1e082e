"""Funding on linear positions: settled at the configured interval as Bybit shows it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.testing import running_simulator, simulator_settings

INTERVAL_MS = 60_000


async def _position(rest: Any) -> dict[str, Any]:
    reply = await rest.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    row: dict[str, Any] = reply["result"]["list"][0]
    return row


async def _wallet_balance(rest: Any) -> Decimal:
    reply = await rest.get("/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT"})
    return Decimal(reply["result"]["list"][0]["coin"][0]["walletBalance"])


async def _market(rest: Any, side: str, qty: str) -> None:
    order = {"category": "linear", "symbol": "BTCUSDT", "side": side, "orderType": "Market"}
    reply = await rest.post("/v5/order/create", order | {"qty": qty})
    assert reply["retCode"] == 0, reply


async def _executions(rest: Any) -> list[dict[str, Any]]:
    reply = await rest.get("/v5/execution/list", {"category": "linear", "symbol": "BTCUSDT"})
    rows: list[dict[str, Any]] = reply["result"]["list"]
    return rows


async def test_a_long_position_pays_funding_at_each_settlement_and_a_short_receives_it(
    rest_class: Any,
) -> None:
    settings = simulator_settings(funding_interval_ms=INTERVAL_MS, funding_rate=Decimal("0.0002"))
    async with running_simulator(settings) as sim:
        rest = rest_class(sim.rest_url)
        await _market(rest, "Buy", "0.010")
        before = await _wallet_balance(rest)
        now = sim.venue.clock.now_ms()
        await sim.admin.step(1, advance_ms=INTERVAL_MS - now % INTERVAL_MS)
        mark = sim.venue.exchange.mark_price(("linear", "BTCUSDT"))
        [funding] = [row for row in await _executions(rest) if row["execType"] == "Funding"]
        paid = Decimal("0.010") * mark * Decimal("0.0002")
        assert (funding["side"], funding["execQty"], Decimal(funding["execFee"])) == (
            "Buy",
            "0.010",
            paid,
        )
        assert Decimal(funding["execPrice"]) == mark
        assert await _wallet_balance(rest) == before - paid
        await sim.admin.step(1, advance_ms=1000)  # no second charge inside the interval
        assert len([r for r in await _executions(rest) if r["execType"] == "Funding"]) == 1

        await _market(rest, "Sell", "0.030")  # now short 0.020
        before = await _wallet_balance(rest)
        await sim.admin.step(1, advance_ms=INTERVAL_MS)
        mark = sim.venue.exchange.mark_price(("linear", "BTCUSDT"))
        latest = next(r for r in await _executions(rest) if r["execType"] == "Funding")
        received = Decimal("0.020") * mark * Decimal("0.0002")
        assert (latest["side"], Decimal(latest["execFee"])) == ("Sell", -received)
        assert await _wallet_balance(rest) == before + received
        position = await _position(rest)
        assert position["side"] == "Sell"


async def test_the_ticker_shows_the_configured_rate_and_the_next_settlement(
    rest_class: Any,
) -> None:
    settings = simulator_settings(funding_interval_ms=INTERVAL_MS, funding_rate=Decimal("-0.0003"))
    async with running_simulator(settings) as sim:
        rest = rest_class(sim.rest_url)
        reply = await rest.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"})
        [ticker] = reply["result"]["list"]
        now = sim.venue.clock.now_ms()
        assert ticker["fundingRate"] == "-0.0003"
        assert int(ticker["nextFundingTime"]) == (now // INTERVAL_MS + 1) * INTERVAL_MS


async def test_a_flat_account_is_charged_no_funding(rest_class: Any) -> None:
    async with running_simulator(simulator_settings(funding_interval_ms=INTERVAL_MS)) as sim:
        rest = rest_class(sim.rest_url)
        await sim.admin.step(1, advance_ms=INTERVAL_MS)
        assert [r for r in await _executions(rest) if r["execType"] == "Funding"] == []

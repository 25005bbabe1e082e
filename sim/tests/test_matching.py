"""Queue position, trade-through, taker fills, PostOnly, fees and rebates, positions and wallet."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mm_sim.book import BUY
from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings


def best_bid(sim: SimulatorHandle) -> tuple[int, str]:
    state = sim.venue.exchange.symbols[("linear", "BTCUSDT")]
    price = state.book.best_market(BUY)
    assert price is not None
    return price, state.instrument.price_text(price)


async def order_status(rest: Any, order_id: str) -> dict[str, Any]:
    reply = await rest.get(
        "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "orderId": order_id}
    )
    return dict(reply["result"]["list"][0])


async def test_resting_bid_behind_five_lots_fills_only_after_five_trade(
    sim: SimulatorHandle, rest: Any
) -> None:
    ticks, price = best_bid(sim)
    sim.venue.exchange.symbols[("linear", "BTCUSDT")].book.set_market_level(BUY, ticks, 5)
    created = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.002",
            "price": price,
        },
    )
    order_id = created["result"]["orderId"]
    assert (await sim.admin.trade("BTCUSDT", "Sell", "0.003"))["traded"] == "0.003"
    assert (await order_status(rest, order_id))["cumExecQty"] == "0.000"
    await sim.admin.trade("BTCUSDT", "Sell", "0.002")
    assert (await order_status(rest, order_id))["orderStatus"] == "New"
    await sim.admin.trade("BTCUSDT", "Sell", "0.001")
    partial = await order_status(rest, order_id)
    assert (partial["orderStatus"], partial["cumExecQty"], partial["leavesQty"]) == (
        "PartiallyFilled",
        "0.001",
        "0.001",
    )
    await sim.admin.trade("BTCUSDT", "Sell", "0.001")
    assert (await order_status(rest, order_id))["orderStatus"] == "Filled"
    executions = (await sim.admin.executions())["list"]
    assert [(e["execQty"], e["isMaker"], e["execPrice"]) for e in executions] == [
        ("0.001", True, price),
        ("0.001", True, price),
    ]


async def test_maker_rebate_credits_wallet(rest_class: Any) -> None:
    async with running_simulator(simulator_settings(maker_fee_rate=Decimal("-0.00005"))) as sim:
        rest = rest_class(sim.rest_url)
        ticks, price = best_bid(sim)
        sim.venue.exchange.symbols[("linear", "BTCUSDT")].book.set_market_level(BUY, ticks, 1)
        await rest.post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.010",
                "price": price,
            },
        )
        await sim.admin.trade("BTCUSDT", "Sell", "0.011")
        [execution] = (await sim.admin.executions())["list"]
        value = Decimal(price) * Decimal("0.010")
        assert Decimal(execution["execFee"]) == value * Decimal("-0.00005") < 0
        assert execution["feeRate"] == "-0.00005"
        assert execution["isMaker"] is True
        wallet = await rest.get(
            "/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT"}
        )
        balance = Decimal(wallet["result"]["list"][0]["coin"][0]["walletBalance"])
        assert balance == Decimal("100000") - Decimal(execution["execFee"])
        assert balance > Decimal("100000")


async def test_taker_fill_position_and_realised_pnl(sim: SimulatorHandle, rest: Any) -> None:
    buy = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.010",
        },
    )
    assert buy["retCode"] == 0
    positions = await rest.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    [row] = positions["result"]["list"]
    assert (row["side"], row["size"]) == ("Buy", "0.010")
    entry = Decimal(row["avgPrice"])
    await sim.admin.step(30)
    moved = (await rest.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}))[
        "result"
    ]["list"][0]
    mark = Decimal(moved["markPrice"])
    assert mark == sim.venue.exchange.mark_price(("linear", "BTCUSDT"))
    assert Decimal(moved["unrealisedPnl"]) == (mark - entry) * Decimal("0.010")
    [execution] = (await sim.admin.executions())["list"]
    assert execution["isMaker"] is False
    assert execution["feeRate"] == "0.00055"
    sell = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Market",
            "qty": "0.010",
            "reduceOnly": True,
        },
    )
    assert sell["retCode"] == 0
    flat = (await rest.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}))[
        "result"
    ]["list"][0]
    assert (flat["side"], flat["size"]) == ("", "0.000")
    executions = (await sim.admin.executions())["list"]
    exit_price = Decimal(executions[-1]["execPrice"])
    fees = sum(Decimal(e["execFee"]) for e in executions)
    expected = (exit_price - entry) * Decimal("0.010") - fees
    assert Decimal(flat["cumRealisedPnl"]) == expected
    wallet = await rest.get(
        "/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT"}
    )
    assert (
        Decimal(wallet["result"]["list"][0]["coin"][0]["walletBalance"])
        == Decimal("100000") + expected
    )


async def test_post_only_that_would_cross_is_accepted_then_cancelled(
    sim: SimulatorHandle, rest: Any
) -> None:
    state = sim.venue.exchange.symbols[("linear", "BTCUSDT")]
    ask = state.book.best_market("Sell")
    assert ask is not None
    reply = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.010",
            "timeInForce": "PostOnly",
            "price": state.instrument.price_text(ask),
        },
    )
    assert reply["retCode"] == 0
    row = await order_status(rest, reply["result"]["orderId"])
    assert (row["orderStatus"], row["rejectReason"], row["cancelType"]) == (
        "Cancelled",
        "EC_PostOnlyWillTakeLiquidity",
        "UNKNOWN",
    )
    assert (row["cumExecQty"], row["leavesQty"]) == ("0.000", "0.000")


async def test_market_moving_through_a_bid_fills_it(sim: SimulatorHandle, rest: Any) -> None:
    _, price = best_bid(sim)
    created = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.001",
            "price": price,
        },
    )
    model = sim.venue.exchange.symbols[("linear", "BTCUSDT")].model
    model.mid_ticks -= 50
    await sim.admin.step(1)
    assert (await order_status(rest, created["result"]["orderId"]))["orderStatus"] == "Filled"


async def test_same_seed_and_flow_give_the_same_market() -> None:
    tapes = []
    for _ in range(2):
        async with running_simulator(simulator_settings(seed=11, id_seed=11)) as sim:
            await sim.admin.step(200)
            state = sim.venue.exchange.symbols[("linear", "BTCUSDT")]
            tapes.append(
                (
                    [(t["p"], t["v"], t["S"], t["i"]) for t in state.recent_trades],
                    await sim.admin.book("BTCUSDT"),
                )
            )
    assert tapes[0] == tapes[1]
    assert len(tapes[0][0]) > 10


async def test_same_seed_and_same_order_flow_give_the_same_fills(rest_class: Any) -> None:
    outcomes = []
    for _ in range(2):
        async with running_simulator(simulator_settings(seed=23, id_seed=23)) as sim:
            rest = rest_class(sim.rest_url)
            for index in range(6):
                _, price = best_bid(sim)
                reply = await rest.post(
                    "/v5/order/create",
                    {
                        "category": "linear",
                        "symbol": "BTCUSDT",
                        "side": "Buy" if index % 2 else "Sell",
                        "orderType": "Market" if index % 3 == 0 else "Limit",
                        "qty": "0.050",
                        "price": price,
                    },
                )
                assert reply["retCode"] == 0
                await sim.admin.step(40)
            executions = (await sim.admin.executions())["list"]
            outcomes.append(
                [
                    (
                        e["orderId"],
                        e["execId"],
                        e["execPrice"],
                        e["execQty"],
                        e["isMaker"],
                        e["seq"],
                    )
                    for e in executions
                ]
            )
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0]) >= 3
    assert any(maker for *_, maker, _ in outcomes[0])


async def test_a_restarted_simulator_never_repeats_an_order_execution_or_trade_id(
    rest_class: Any,
) -> None:
    """Two starts with the same (market) seed and the same flow: the market is the same, the ids
    are not, so a consumer de-duplicating on execId never drops a new run's fill."""
    runs = []
    for _ in range(2):
        async with running_simulator(simulator_settings(seed=23)) as sim:
            rest = rest_class(sim.rest_url)
            reply = await rest.post(
                "/v5/order/create",
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Market",
                    "qty": "0.050",
                },
            )
            assert reply["retCode"] == 0
            await sim.admin.step(40)
            executions = (await sim.admin.executions())["list"]
            state = sim.venue.exchange.symbols[("linear", "BTCUSDT")]
            runs.append(
                (
                    {e["orderId"] for e in executions},
                    {e["execId"] for e in executions},
                    {t["i"] for t in state.recent_trades},
                    [(e["execPrice"], e["execQty"]) for e in executions],
                )
            )
    first, second = runs
    assert first[1], "expected the market order to execute"
    assert first[3] == second[3], "expected the seeded market to give the same prices"
    assert not first[0] & second[0], "order ids repeated across starts"
    assert not first[1] & second[1], "execution ids repeated across starts"
    assert not first[2] & second[2], "trade ids repeated across starts"

"""Against the real simulator at 10 orders/s: a burst never draws 10006 and cancels go first."""

import asyncio

import pytest

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import RateLimited
from mm_bybit.order_requests import CancelOrder, CreateOrder
from mm_bybit.rate_budget import RateBudget
from mm_bybit.rest import RestClient
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import running_simulator


def resting_buy(link_id: str, price: str) -> CreateOrder:
    return CreateOrder(
        category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price=price, time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


@pytest.mark.parametrize("shared_bucket", [True, False], ids=["one-order-bucket", "per-endpoint"])
async def test_burst_of_fifty_actions_gets_no_rate_limit_and_cancels_are_not_starved(
    credentials: ApiCredentials, shared_bucket: bool
) -> None:
    # The venue's rate windows must run on real time here, so the clock is not manual.
    settings = SimSettings(
        port=0, manual_clock=False, order_rate_limit_per_s=10,
        market=MarketModelConfig(auto_step=False),
    )  # fmt: skip
    async with running_simulator(settings) as sim:
        # One shared bucket for creates and cancels makes them compete, so priority shows; per
        # endpoint (as the venue counts) they cannot starve each other at all.
        # max_rate_limit_retries=0 turns any 10006 into a raised error instead of a retry.
        budget = RateBudget(shared_order_bucket=shared_bucket)
        async with RestClient(
            sim.rest_url, credentials, budget=budget, max_rate_limit_retries=0
        ) as rest:
            api = BybitRestApi(rest)
            price = "50000.0"  # far below the simulated mid: rests, never trades
            for n in range(20):
                await api.send_order(resting_buy(f"old-{n}", price))

            finished: list[str] = []

            async def act(kind: str, n: int) -> None:
                if kind == "cancel":
                    request = CancelOrder(
                        category="linear", symbol="BTCUSDT", order_link_id=f"old-{n}"
                    )
                    await api.send_order(request)
                else:
                    await api.send_order(resting_buy(f"new-{n}", price))
                finished.append(kind)

            actions = [("create" if n % 5 < 3 else "cancel", n) for n in range(50)]
            cancel_index = iter(range(20))
            burst = [
                act(kind, next(cancel_index) if kind == "cancel" else n) for kind, n in actions
            ]
            outcomes = await asyncio.gather(*burst, return_exceptions=True)

    rate_limited = [o for o in outcomes if isinstance(o, RateLimited)]
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert rate_limited == []
    assert failures == []
    assert finished.count("cancel") == 20
    assert finished.count("create") == 30
    # Cancels outrank creates in the queue: every cancel is done while creates still wait.
    last_cancel = max(i for i, kind in enumerate(finished) if kind == "cancel")
    assert finished[last_cancel + 1 :].count("create") >= 10


async def test_the_same_burst_without_a_budget_does_draw_10006(credentials: ApiCredentials) -> None:
    """The control: the venue really does enforce 10/s, so the test above proves something."""
    settings = SimSettings(
        port=0, manual_clock=False, order_rate_limit_per_s=10,
        market=MarketModelConfig(auto_step=False),
    )  # fmt: skip
    async with running_simulator(settings) as sim:
        unlimited = RateBudget(limits={"/v5/order/create": 1000})
        async with RestClient(
            sim.rest_url, credentials, budget=unlimited, max_rate_limit_retries=0
        ) as rest:
            api = BybitRestApi(rest)
            burst = [api.send_order(resting_buy(f"x-{n}", "50000.0")) for n in range(30)]
            outcomes = await asyncio.gather(*burst, return_exceptions=True)
    rate_limited = [o for o in outcomes if isinstance(o, RateLimited)]
    assert len(rate_limited) == 20
    assert all(error.reset_timestamp_ms > 0 for error in rate_limited)


async def test_the_budget_adopts_the_limit_the_venue_reports(credentials: ApiCredentials) -> None:
    """The venue allows 5/s here while the documented default is 10/s: the headers win."""
    settings = SimSettings(
        port=0, manual_clock=False, order_rate_limit_per_s=5,
        market=MarketModelConfig(auto_step=False),
    )  # fmt: skip
    async with (
        running_simulator(settings) as sim,
        RestClient(sim.rest_url, credentials, max_rate_limit_retries=0) as rest,
    ):
        api = BybitRestApi(rest)
        await api.send_order(resting_buy("learn", "50000.0"))
        assert rest.budget.bucket("/v5/order/create").limit == 5
        burst = [api.send_order(resting_buy(f"y-{n}", "50000.0")) for n in range(12)]
        outcomes = await asyncio.gather(*burst, return_exceptions=True)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []

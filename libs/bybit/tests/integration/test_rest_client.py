"""Against the real simulator: typed errors, clock resync, breaker, rate limits, reference data."""

import asyncio
import time

import pytest
from pydantic import SecretStr

from mm_bybit.api import BybitRestApi
from mm_bybit.circuit import CircuitBreaker, CircuitState
from mm_bybit.credentials import ApiCredentials
from mm_bybit.errors import AuthError, CircuitOpen, ParameterError, RateLimited, ServerBusy
from mm_bybit.instruments import load_reference
from mm_bybit.order_requests import CreateOrder
from mm_bybit.rest import RestClient
from mm_sim.testing import API_KEY, SimulatorHandle, running_simulator, simulator_settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def post_only_buy(link_id: str, price: str = "50000.0") -> CreateOrder:
    return CreateOrder(
        category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit", qty="0.001",
        price=price, time_in_force="PostOnly", order_link_id=link_id,
    )  # fmt: skip


async def test_reference_data_is_read_from_the_venue_including_a_rebate() -> None:
    async with running_simulator(simulator_settings(maker_fee_rate="-0.00005")) as sim:
        credentials = ApiCredentials(api_key=API_KEY, api_secret=SecretStr("sim-secret"))
        async with RestClient(sim.rest_url, credentials) as rest:
            reference = await load_reference(BybitRestApi(rest), "linear", ["BTCUSDT"])
    instrument = reference.instruments["BTCUSDT"]
    assert (instrument.tick_size, instrument.lot_size, instrument.min_qty_lots) == (
        "0.10", "0.001", 1,
    )  # fmt: skip
    assert reference.fee_rates["BTCUSDT"].maker_fee_rate == "-0.00005"


async def test_unknown_symbols_are_refused_at_start(api: BybitRestApi) -> None:
    with pytest.raises(LookupError, match="NOPEUSDT"):
        await load_reference(api, "linear", ["BTCUSDT", "NOPEUSDT"])


async def test_a_wrong_secret_is_an_auth_error_without_the_secret_in_it(
    sim: SimulatorHandle,
) -> None:
    wrong = ApiCredentials(api_key=API_KEY, api_secret=SecretStr("not-the-secret"))
    async with RestClient(sim.rest_url, wrong) as rest:
        with pytest.raises(AuthError) as caught:
            await BybitRestApi(rest).positions("linear", "BTCUSDT")
    assert "not-the-secret" not in str(caught.value)
    assert caught.value.retryable is False


async def test_a_skewed_clock_is_resynchronised_once_and_the_request_succeeds(
    sim: SimulatorHandle, credentials: ApiCredentials
) -> None:
    def minute_late() -> int:
        return time.time_ns() // 1_000_000 - 60_000

    async with RestClient(
        sim.rest_url, credentials, wall_clock_ms=minute_late, max_rate_limit_retries=0
    ) as rest:
        positions = await BybitRestApi(rest).positions("linear", "BTCUSDT")
        assert rest.clock_offset_ms > 55_000
    assert positions[0].symbol == "BTCUSDT"


async def test_venue_rejections_are_typed(api: BybitRestApi) -> None:
    with pytest.raises(ParameterError, match="10001"):
        await api.send_order(post_only_buy("off-grid", price="50000.05"))


async def test_breaker_opens_on_server_errors_then_probes_and_closes(
    sim: SimulatorHandle, credentials: ApiCredentials
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=clock)
    await sim.admin.set_faults({"rest_error": "http_5xx", "rest_error_count": 3})
    async with RestClient(sim.rest_url, credentials, circuit=breaker) as rest:
        api = BybitRestApi(rest)
        for _ in range(3):
            with pytest.raises(ServerBusy):
                await api.positions("linear", "BTCUSDT")
        assert breaker.state is CircuitState.OPEN
        with pytest.raises(CircuitOpen):
            await api.positions("linear", "BTCUSDT")
        clock.now = 10.0
        assert breaker.state is CircuitState.HALF_OPEN
        assert (await api.positions("linear", "BTCUSDT"))[0].symbol == "BTCUSDT"
        assert breaker.state is CircuitState.CLOSED


async def test_a_cancelled_half_open_probe_lets_the_breaker_probe_again(
    sim: SimulatorHandle, credentials: ApiCredentials
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=clock)
    await sim.admin.set_faults({"rest_error": "http_5xx", "rest_error_count": 3})
    async with RestClient(sim.rest_url, credentials, circuit=breaker) as rest:
        api = BybitRestApi(rest)
        for _ in range(3):
            with pytest.raises(ServerBusy):
                await api.positions("linear", "BTCUSDT")
        clock.now = 10.0
        await sim.admin.set_faults({"rest_delay_ms": 2000})
        # The probe's caller gives up before the venue answers (as the executor's cancel-all does).
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(api.positions("linear", "BTCUSDT"), 0.3)
        await sim.admin.set_faults({"rest_delay_ms": 0})
        clock.now = 20.0
        assert (await api.positions("linear", "BTCUSDT"))[0].symbol == "BTCUSDT"
        assert breaker.state is CircuitState.CLOSED


async def test_retcode_10016_is_retryable_server_busy(
    sim: SimulatorHandle, api: BybitRestApi
) -> None:
    await sim.admin.set_faults({"rest_error": "10016", "rest_error_count": 1})
    with pytest.raises(ServerBusy) as caught:
        await api.positions("linear", "BTCUSDT")
    assert caught.value.retryable
    assert caught.value.ret_code == 10016


async def test_rate_limit_storm_parks_the_bucket_and_reports_the_reset(
    sim: SimulatorHandle, credentials: ApiCredentials
) -> None:
    await sim.admin.set_faults({"rate_limit_storm": True})
    async with RestClient(sim.rest_url, credentials, max_rate_limit_retries=1) as rest:
        with pytest.raises(RateLimited) as caught:
            await BybitRestApi(rest).send_order(post_only_buy("storm-1"))
        assert caught.value.reset_timestamp_ms > 0


async def test_rest_book_lines_up_with_the_published_book(
    sim: SimulatorHandle, api: BybitRestApi
) -> None:
    await sim.admin.step(2)
    book = await api.orderbook("linear", "BTCUSDT", limit=50)
    published = await sim.admin.book("BTCUSDT", depth=1000)
    assert book.update_id == published["u"]
    assert [list(level) for level in book.bids[:5]] == published["b"][:5]
    trades = await api.recent_trades("linear", "BTCUSDT")
    assert all(t.symbol == "BTCUSDT" and t.side in ("Buy", "Sell") for t in trades)

"""A reconciliation that races a fill, on the real simulator, executor and risk over a real NATS.

The executor reconciles inside its venue-feed task, so a fill that matches while it reads the
venue waits in the feed's queue: the baseline it publishes already includes the fill, and the
fill's fact lands on stream EXEC after the baseline. Risk must count that fill once, by the
venue's `seq` on both, and keep agreeing with the venue (no `position_mismatch`).

Two services meet here (the executor's facts, risk's position), so neither service's own tests
can hold it. Both run in this process, against a simulator on loopback, so that the fill can be
placed exactly between the executor's reads: the test wraps the executor's own venue client and
trades on the account (a real signed REST order) just before the position read goes out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import nats
from nats.js import JetStreamContext
from pydantic import SecretStr

from executor.service import ExecutorService
from executor.settings import ExecutorSettings
from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.instruments import load_instruments
from mm_bybit.raw import Position as VenuePosition
from mm_bybit.rest import RestClient
from mm_proto import Fill, Position, decode, subjects
from mm_runtime.jetstream import ensure_layout, store_instrument
from mm_runtime.lifecycle import Service, serve
from mm_runtime.settings import ServiceSettings, load_settings
from mm_runtime.testing import NatsServer, eventually
from mm_sim.settings import MarketModelConfig, SimSettings
from mm_sim.testing import API_KEY, API_SECRET, running_simulator
from risk.service import RiskService
from risk.settings import RiskSettings

SYMBOL = "BTCUSDT"
LOT = "0.001"


@asynccontextmanager
async def serving(service: Service, settings: ServiceSettings) -> AsyncIterator[None]:
    """Run one service in this process until the block ends; fail if it does not get ready."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(service, settings, stop, ready, configure_logs=False))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=30, return_when="FIRST_COMPLETED")
    if waiter not in done:
        waiter.cancel()
        if task.done():
            task.result()
        raise AssertionError(f"{type(service).__name__} did not become ready in 30 s")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def buy(api: BybitRestApi, lots: int) -> None:
    """A market buy on the account the executor trades: a taker fill of ours."""
    qty = f"{lots * float(LOT):.3f}"
    body = {"category": "linear", "symbol": SYMBOL, "side": "Buy", "orderType": "Market"}
    response = await api.rest.post("/v5/order/create", body | {"qty": qty})
    assert response.envelope.ret_code == 0, response


async def venue_lots(api: BybitRestApi) -> int:
    rows: list[VenuePosition] = await api.positions("linear", SYMBOL)
    (row,) = rows
    size = round(float(row.size) / float(LOT))
    return -size if row.side == "Sell" else size


async def exec_facts(js: JetStreamContext) -> list[Fill | Position]:
    """Every fill and position on stream EXEC, in stream order (the order risk reads them)."""
    info = await js.stream_info(subjects.EXEC_STREAM)
    facts: list[Fill | Position] = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await js.get_msg(subjects.EXEC_STREAM, sequence)
        parsed = subjects.parse(raw.subject or "")
        if parsed.family in ("exec_fill", "exec_position"):
            facts.append(decode(raw.data or b"", parsed.message_type))
    return facts


def fill_before_the_read(
    executor: ExecutorService, api: BybitRestApi
) -> tuple[asyncio.Event, Callable[..., Awaitable[Any]]]:
    """A position read that first buys one lot and waits until the executor's private stream
    has queued that fill's pushes: they wait behind the reconciliation that is reading."""
    done = asyncio.Event()
    real_positions = executor.api.positions
    feed = executor._feed
    assert feed is not None

    async def positions(category: str, symbol: str | None = None) -> Any:
        if not done.is_set():
            queued_before = feed.queue.qsize()
            await buy(api, 1)
            # The execution, order and position pushes of that fill.
            await eventually(lambda: feed.queue.qsize() >= queued_before + 3, timeout=5)
            done.set()
        return await real_positions(category, symbol)

    return done, positions


async def test_a_fill_matched_during_a_reconciliation_is_counted_once(
    nats_server: NatsServer,
) -> None:
    sim_settings = SimSettings(port=0, market=MarketModelConfig(auto_step=False), admin_open=True)
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(running_simulator(sim_settings))
        rest = RestClient(
            sim.rest_url, ApiCredentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))
        )
        stack.push_async_callback(rest.aclose)
        api = BybitRestApi(rest)
        client = await nats.connect(nats_server.url)
        stack.push_async_callback(client.drain)
        js = client.jetstream()
        await ensure_layout(js)
        for definition in (await load_instruments(api, "linear")).values():
            await store_instrument(js, definition)

        risk_settings = load_settings(
            RiskSettings,
            nats={"url": nats_server.url},
            symbols=[SYMBOL],
            exec_ack_wait_s=1.0,
            snapshot_interval_s=0.2,
        )
        risk = RiskService(risk_settings)
        await stack.enter_async_context(serving(risk, risk_settings))
        executor_settings = load_settings(
            ExecutorSettings,
            symbols=[SYMBOL],
            nats={"url": nats_server.url},
            venue={
                "rest_url": sim.rest_url,
                "ws_url": f"ws://{sim.host}:{sim.port}",
                "api_key": API_KEY,
                "api_secret": API_SECRET,
            },
            retry_delay_s=0.05,
        )
        executor = ExecutorService(executor_settings)
        await stack.enter_async_context(serving(executor, executor_settings))

        def risk_holds(lots: int) -> Callable[[], bool]:
            return lambda: risk.engine.portfolio.position_lots(SYMBOL) == lots

        await buy(api, 2)
        await eventually(risk_holds(2), timeout=10, message="risk holds 2 lots")

        done, positions = fill_before_the_read(executor, api)
        executor.api.positions = positions  # type: ignore[method-assign,assignment]
        await sim.admin.drop_connections("private")  # a resubscription: a reconciliation
        await asyncio.wait_for(done.wait(), 15)

        async def raced() -> tuple[Position, Fill] | None:
            """The newest baseline and the first fill after it, once a second baseline is out."""
            facts = await exec_facts(js)
            baselines = [i for i, f in enumerate(facts) if isinstance(f, Position) and f.reconciled]
            if len(baselines) < 2:
                return None
            baseline = facts[baselines[-1]]
            later = [f for f in facts[baselines[-1] :] if isinstance(f, Fill)]
            return (baseline, later[0]) if isinstance(baseline, Position) and later else None

        found = await eventually(raced, timeout=10, message="the baseline and the fill")
        assert found is not None
        baseline, fill = found
        # The race happened: the baseline includes the fill that landed after it.
        assert baseline.size_lots == 3
        assert fill.seq is not None
        assert baseline.seq is not None
        assert fill.seq <= baseline.seq

        await eventually(risk_holds(3), timeout=10, message="risk holds the venue's 3 lots")
        await buy(api, 1)  # the venue pushes its position again: risk's check compares
        await eventually(risk_holds(4), timeout=10, message="risk holds the venue's 4 lots")
        assert await venue_lots(api) == 4
        assert risk.engine.halt_status.by != "position_mismatch"
        assert risk.engine.kill_switch.positions.agree()

"""Risk fails closed on a clock, on a real NATS: stale books and silent quoters have their orders
cancelled without waiting for the next intent, transient halts heal once clear while hard ones
wait for an operator, and the executor gets a startup grace before its first heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

from mm_proto import (
    HaltRequest,
    HaltState,
    Heartbeat,
    OrderRejected,
    Side,
    decode,
    encode,
    subjects,
)
from mm_runtime.nats_server import NatsServer
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000
BIDS, ASKS = [(MID - 20, 1)], [(MID + 20, 1)]
QUIET = {"executor_heartbeat_timeout_ms": 600_000, "md_down_after_ms": 600_000}


async def stored_halt(bus: Bus) -> HaltState | None:
    try:
        bucket = await bus.js.key_value(subjects.RISK_BUCKET)
        return decode((await bucket.get(subjects.HALT_KEY)).value or b"", HaltState)
    except Exception:
        return None


def cancel_alls(bus: Bus, symbol: str, since: int) -> list[int]:
    return [
        target.ts_target_ns
        for target in bus.targets[since:]
        if target.symbol == symbol and target.cancel_all
    ]


@contextlib.asynccontextmanager
async def repeating(action: object, interval: float = 0.05) -> AsyncIterator[None]:
    """Run `action()` every `interval` s in the background while the block runs."""

    async def loop() -> None:
        while True:
            await action()  # type: ignore[operator]
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def executor_heartbeat(bus: Bus) -> None:
    beat = Heartbeat(service="executor", instance_id="0", ts_sent_ns=time.time_ns())
    await bus.client.publish(subjects.heartbeat("executor"), encode(beat))


async def test_a_frozen_book_cancels_the_symbols_orders_within_a_tick_of_the_bound(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", {**QUIET, "stale_after_ms": 500})
    await risk.start()
    before_last_book_ns = time.time_ns()
    await bus.book_seen()  # the gateway "freezes" after this book: no book, no intent after it
    await bus.intent(BIDS, ASKS, intent_id="quoting")
    assert not (await bus.target_for("quoting")).cancel_all
    mark = len(bus.targets)
    (cancelled_ns, *_) = await eventually(
        lambda: cancel_alls(bus, "BTCUSDT", mark), timeout=5, message="a cancel-all on the clock"
    )
    assert cancel_alls(bus, "ETHUSDT", mark) == []  # ETHUSDT had no orders out
    assert cancelled_ns - before_last_book_ns >= 500 * 1_000_000
    event = await eventually(
        lambda: next((e for e in bus.events if e.check == "stale_book"), None), timeout=5
    )
    assert (event.symbol, event.outcome, event.limit) == ("BTCUSDT", "block", "500")
    # Pulled within a second of the bound (the clock ticks every 50 ms here).
    assert Decimal(event.observed) <= 1_500
    assert risk.service is not None
    pulls = risk.service.runtime.registry.get_sample_value(
        "risk_freshness_pulls_total", {"input": "book"}
    )
    assert pulls == 1


async def test_a_quoter_that_stops_sending_intents_has_its_orders_cancelled(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", {**QUIET, "intent_stale_after_ms": 600})
    await risk.start()
    await bus.book_seen()
    await bus.intent(BIDS, ASKS, intent_id="last-words")
    assert not (await bus.target_for("last-words")).cancel_all
    mark = len(bus.targets)
    async with repeating(bus.book):  # the market stays fresh; only the quoter is silent
        await eventually(lambda: cancel_alls(bus, "BTCUSDT", mark), timeout=5)
    event = next(e for e in bus.events if e.check == "stale_intent")
    assert (event.symbol, event.outcome) == ("BTCUSDT", "block")
    assert "last intent" in event.detail
    # A fresh intent quotes again through the usual checks.
    await bus.book_seen()
    await bus.intent(BIDS, ASKS, intent_id="back")
    assert bus.levels(await bus.target_for("back")) == (BIDS, ASKS)


async def test_a_lost_executor_heartbeat_halt_heals_by_itself_once_heartbeats_return(
    bus: Bus, risk: RiskProcess
) -> None:
    config = {
        "executor_heartbeat_timeout_ms": 300,
        "executor_startup_grace_ms": 0,
        "md_down_after_ms": 600_000,
        "halt_heal_after_ms": 500,
    }
    await bus.put_config("risk.default", config)
    await risk.start()

    async def halted_transiently() -> bool:
        state = await stored_halt(bus)
        return state is not None and state.halted and state.transient

    await eventually(halted_transiently, timeout=10, message="a transient halt stored")
    state = await stored_halt(bus)
    assert state is not None
    assert state.by == "executor_heartbeat"
    assert (await bus.status())["halt_transient"] == "true"
    async with repeating(lambda: executor_heartbeat(bus)):

        async def lifted() -> bool:
            state = await stored_halt(bus)
            return state is not None and not state.halted

        await eventually(lifted, timeout=10, message="the halt healed")
        healed = next(e for e in bus.events if e.outcome == "resume")
        assert healed.check == "executor_heartbeat"
        assert "healed" in healed.detail
        await bus.book_seen()
        await bus.intent(BIDS, ASKS, intent_id="after-heal")
        assert bus.levels(await bus.target_for("after-heal")) == (BIDS, ASKS)


async def test_a_reject_storm_halt_is_hard_and_does_not_heal(bus: Bus, risk: RiskProcess) -> None:
    await bus.put_config("risk.default", {**QUIET, "max_rejects": 1, "halt_heal_after_ms": 100})
    await risk.start()
    for number in range(2):
        rejected = OrderRejected(
            venue="bybit",
            category="linear",
            symbol="BTCUSDT",
            client_order_id=f"c{number}",
            venue_order_id="",
            side=Side.BUY,
            price_ticks=MID,
            size_lots=1,
            ts_event_ns=time.time_ns(),
            reason="EC_PostOnlyWillTakeLiquidity",
        )
        await bus.executor_fact(subjects.exec_order("bybit", "linear", "BTCUSDT"), rejected)

    async def halted() -> HaltState | None:
        state = await stored_halt(bus)
        return state if state is not None and state.halted else None

    state = await eventually(halted, timeout=10)
    assert (state.by, state.transient) == ("reject_rate", False)
    await asyncio.sleep(1.0)  # ten times the heal time: a transient halt would have healed
    still = await stored_halt(bus)
    assert still is not None
    assert still.halted
    assert not any(e.outcome == "resume" for e in bus.events)


async def test_risk_waits_for_the_executors_first_heartbeat_within_the_startup_grace(
    bus: Bus, risk: RiskProcess
) -> None:
    config = {
        "executor_heartbeat_timeout_ms": 300,
        "executor_startup_grace_ms": 2_000,
        "md_down_after_ms": 600_000,
    }
    await bus.put_config("risk.default", config)
    await risk.start()
    await asyncio.sleep(1.0)  # three heartbeat timeouts without an executor yet
    assert (await bus.status())["halted"] == "false"
    await executor_heartbeat(bus)
    await bus.client.flush()

    async def halted_on_silence() -> bool:
        state = await stored_halt(bus)
        return state is not None and state.halted and state.by == "executor_heartbeat"

    # After its first heartbeat the executor is held to the usual timeout again.
    await eventually(halted_on_silence, timeout=10, message="halt once the executor goes silent")


async def test_risk_halts_when_it_cannot_read_stream_exec_and_heals_when_it_can_again(
    bus: Bus, risk: RiskProcess, nats_server: NatsServer
) -> None:
    config = {**QUIET, "exec_lag_halt_after_ms": 800, "halt_heal_after_ms": 300}
    await bus.put_config("risk.default", config)
    await risk.start()
    assert risk.service is not None
    registry = risk.service.runtime.registry
    nats_server.stop()
    await eventually(
        lambda: registry.get_sample_value("risk_halts_total", {"trigger": "exec_lag"}),
        timeout=10,
        message="halted on EXEC lag while the server is down",
    )
    lag = registry.get_sample_value("risk_exec_lag_seconds")
    assert lag is not None
    assert lag > 0.5
    nats_server.start()
    await eventually(
        lambda: registry.get_sample_value("risk_halt_heals_total", {"trigger": "exec_lag"}),
        timeout=20,
        message="healed once the consumer is current again",
    )

    async def lifted() -> bool:
        state = await stored_halt(bus)
        return state is not None and not state.halted

    await eventually(lifted, timeout=10, message="the lifted state stored")


async def test_a_manual_halt_by_an_operator_named_like_a_trigger_is_still_hard(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", {**QUIET, "halt_heal_after_ms": 100})
    await risk.start()
    reply = await bus.ctl("halt", HaltRequest(reason="drill", operator="md_down"))
    assert reply.ok, reply.message
    state = await stored_halt(bus)
    assert state is not None
    assert (state.halted, state.by, state.transient) == (True, "md_down", False)
    await asyncio.sleep(1.0)  # ten times the heal time: a transient halt would have healed
    assert (await bus.status())["halted"] == "true"

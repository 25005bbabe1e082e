"""The kill switch on a real NATS: manual halt, persistence across restarts, automatic triggers."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from mm_proto import (
    FeedState,
    FeedStatus,
    Fill,
    HaltRequest,
    HaltState,
    Heartbeat,
    OrderRejected,
    Position,
    ResumeRequest,
    Side,
    decode,
    encode,
    subjects,
)
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book
BIDS, ASKS = [(MID - 20, 1)], [(MID + 20, 1)]
QUIET_EXECUTOR = {"executor_heartbeat_timeout_ms": 600_000}


async def stored_halt(bus: Bus) -> HaltState:
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    return decode((await bucket.get(subjects.HALT_KEY)).value or b"", HaltState)


async def halted_by(bus: Bus, trigger: str) -> HaltState:
    async def stored() -> HaltState | None:
        try:
            state = await stored_halt(bus)
        except Exception:
            return None
        return state if state.halted and state.by == trigger else None

    return await eventually(stored, timeout=10, message=f"a halt by {trigger} stored in KV")


def cancel_all_symbols(bus: Bus, since: int) -> set[str]:
    return {target.symbol for target in bus.targets[since:] if target.cancel_all}


async def test_a_halt_stops_targets_at_once_cancels_everything_and_survives_a_restart(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    await bus.book_seen()
    await bus.intent(BIDS, ASKS, intent_id="before")
    assert not (await bus.target_for("before")).cancel_all

    mark = len(bus.targets)
    reply = await bus.ctl("halt", HaltRequest(reason="drill", operator="alice"))
    assert reply.ok, reply.message
    await bus.intent(BIDS, ASKS, intent_id="during")
    during = await bus.target_for("during")
    assert during.cancel_all
    assert (during.bids, during.asks) == ([], [])
    await eventually(lambda: cancel_all_symbols(bus, mark) == {"BTCUSDT", "ETHUSDT"}, timeout=5)
    assert all(target.cancel_all for target in bus.targets[mark:])
    assert (await halted_by(bus, "alice")).reason == "drill"
    halt_event = next(e for e in bus.events if e.outcome == "halt")
    assert halt_event.check == "manual"

    await risk.restart()
    restart_mark = len(bus.targets)
    assert (await bus.status())["halted"] == "true"
    await eventually(
        lambda: cancel_all_symbols(bus, restart_mark) == {"BTCUSDT", "ETHUSDT"}, timeout=5
    )
    await bus.book_seen()
    await bus.intent(BIDS, ASKS, intent_id="after-restart")
    assert (await bus.target_for("after-restart")).cancel_all
    assert all(target.cancel_all for target in bus.targets[mark:])

    resumed = await bus.ctl("resume", ResumeRequest(reason="drill over", operator="alice"))
    assert resumed.ok, resumed.message
    assert not (await stored_halt(bus)).halted
    await bus.intent(BIDS, ASKS, intent_id="resumed")
    resumed_target = await bus.target_for("resumed")
    assert not resumed_target.cancel_all
    assert bus.levels(resumed_target) == (BIDS, ASKS)


async def test_a_second_halt_keeps_the_first_reason(bus: Bus, risk: RiskProcess) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    assert (await bus.ctl("halt", HaltRequest(reason="first", operator="alice"))).ok
    again = await bus.ctl("halt", HaltRequest(reason="second", operator="bob"))
    assert again.ok
    assert "alice" in again.message
    assert (await stored_halt(bus)).reason == "first"
    nameless = await bus.ctl("halt", HaltRequest(reason="x", operator=""))
    assert not nameless.ok


async def test_a_blank_reason_still_halts_but_cannot_resume(bus: Bus, risk: RiskProcess) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    halted = await bus.ctl("halt", HaltRequest(reason="  ", operator="alice"))
    assert halted.ok, halted.message
    assert (await stored_halt(bus)).reason == "(no reason given)"
    refused = await bus.ctl("resume", ResumeRequest(reason=" ", operator="alice"))
    assert not refused.ok
    assert refused.message == "not resumed: a resume needs a reason, was ''"
    assert (await stored_halt(bus)).halted
    resumed = await bus.ctl("resume", ResumeRequest(reason="checked", operator="alice"))
    assert resumed.ok, resumed.message


async def test_a_silent_executor_halts_risk_and_resume_is_refused_until_it_speaks(
    bus: Bus, risk: RiskProcess
) -> None:
    config = {"executor_heartbeat_timeout_ms": 300, "executor_startup_grace_ms": 0}
    await bus.put_config("risk.default", config)
    await risk.start()
    await halted_by(bus, "executor_heartbeat")
    refused = await bus.ctl("resume", ResumeRequest(reason="try", operator="alice"))
    assert not refused.ok
    assert "executor_heartbeat" in refused.message
    beat = Heartbeat(service="executor", instance_id="0", ts_sent_ns=time.time_ns())
    await bus.client.publish(subjects.heartbeat("executor"), encode(beat))
    await bus.client.flush()

    async def resumed() -> bool:
        reply = await bus.ctl("resume", ResumeRequest(reason="back", operator="alice"))
        return reply.ok

    await eventually(resumed, timeout=5, message="resume accepted after a heartbeat")


async def test_a_spike_of_order_rejects_halts_risk(bus: Bus, risk: RiskProcess) -> None:
    await bus.put_config("risk.default", {**QUIET_EXECUTOR, "max_rejects": 2})
    await risk.start()
    for number in range(3):
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
    state = await halted_by(bus, "reject_rate")
    assert "3 rejects" in state.reason


async def test_executor_positions_that_disagree_with_the_fills_halt_risk(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    for _ in range(2):
        position = Position(
            venue="bybit",
            category="linear",
            symbol="BTCUSDT",
            size_lots=5,
            entry_price="100000.0",
            realized_pnl="0",
            unrealized_pnl="0",
            ts_exchange_ns=time.time_ns(),
        )
        await bus.executor_fact(subjects.exec_position("bybit", "linear", "BTCUSDT"), position)
    await halted_by(bus, "position_mismatch")
    event = await eventually(
        lambda: next((e for e in bus.events if e.check == "position_mismatch"), None), timeout=5
    )
    assert (event.outcome, event.symbol) == ("halt", "BTCUSDT")


async def test_a_feed_down_longer_than_allowed_halts_risk(bus: Bus, risk: RiskProcess) -> None:
    config = {**QUIET_EXECUTOR, "md_down_after_ms": 400, "stale_after_ms": 100}
    await bus.put_config("risk.default", config)
    await risk.start()
    await bus.book_seen()
    await bus.book_seen("ETHUSDT", 300_000)
    stale = FeedStatus(
        venue="bybit",
        category="linear",
        symbol="ETHUSDT",
        state=FeedState.STALE,
        reason="gap",
        last_update_id=1,
        ts_event_ns=time.time_ns(),
    )
    await bus.client.publish(subjects.feed_status("bybit", "linear", "ETHUSDT"), encode(stale))

    async def btc_kept_alive() -> bool:
        await bus.book()
        try:
            return (await stored_halt(bus)).halted
        except Exception:
            return False

    await eventually(btc_kept_alive, timeout=10, interval=0.05)
    state = await stored_halt(bus)
    assert state.by == "md_down"
    assert "ETHUSDT" in state.reason


async def test_a_loss_beyond_the_window_limit_halts_risk(bus: Bus, risk: RiskProcess) -> None:
    config = {**QUIET_EXECUTOR, "max_window_loss": 50, "max_drawdown": 100}
    await bus.put_config("risk.default", config)
    await risk.start()
    await bus.book_seen()
    now = time.time_ns()
    fill = Fill(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        fill_id="loss-1",
        client_order_id="c",
        venue_order_id="v",
        side=Side.BUY,
        price_ticks=MID,
        size_lots=10,
        fee="0",
        fee_currency="USDT",
        is_maker=True,
        ts_exchange_ns=now,
        ts_received_ns=now,
    )
    await bus.executor_fact(subjects.exec_fill("bybit", "linear", "BTCUSDT"), fill)

    async def position_applied() -> bool:
        return (await bus.status())["BTCUSDT.position_lots"] == "10"

    await eventually(position_applied, timeout=5)
    # 0.010 BTC marked 6000 USDT lower loses 60 > 50.
    await bus.book(mid_ticks=MID - 60_000)
    state = await halted_by(bus, "pnl_window")
    assert "lost" in state.reason


async def test_an_unreadable_stored_halt_state_starts_risk_halted(
    bus: Bus, risk: RiskProcess
) -> None:
    bucket = await bus.js.create_key_value(bucket=subjects.RISK_BUCKET, history=5)
    await bucket.put(subjects.HALT_KEY, b"\x00not a halt state")
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    status = await bus.status()
    assert status["halted"] == "true"
    assert "unreadable" in status["halt_reason"]
    await bus.intent(BIDS, ASKS, intent_id="while-unreadable")
    assert (await bus.target_for("while-unreadable")).cancel_all


async def test_a_flood_of_garbage_halts_does_not_lock_out_a_real_halt(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    for _ in range(60):  # three seconds' worth of the flood seen on the stack, at once
        refused = await bus.client.request(subjects.ctl("risk", "halt"), b"\xc1junk", timeout=5)
        assert b"expected HaltRequest" in refused.data
    reply = await bus.ctl("halt", HaltRequest(reason="real", operator="alice"))
    assert reply.ok, reply.message
    assert (await bus.status())["halted"] == "true"


async def test_a_first_start_stores_its_halt_state_at_once_and_rewrites_nothing(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()  # ready: the state is stored before readiness, not found missing later
    assert not (await stored_halt(bus)).halted
    assert risk.service is not None
    await asyncio.sleep(risk.service.settings.halt_repeat_s * 2)  # past two checks of KV
    assert risk.service.metrics.halt_rewrites._value.get() == 0


async def test_a_stale_halt_that_lands_in_kv_late_is_written_over_within_a_repeat(
    bus: Bus, risk: RiskProcess
) -> None:
    # A halt write that timed out while the server was frozen can still land after risk stored
    # the resume: KV (what the quoter follows) then says halted while risk says not.
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    assert not (await stored_halt(bus)).halted
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    late = HaltState(
        halted=True,
        reason="executor silent",
        by="executor_heartbeat",
        ts_changed_ns=1,
        transient=True,
    )
    await bucket.put(subjects.HALT_KEY, encode(late))

    async def rewritten() -> bool:
        return not (await stored_halt(bus)).halted

    await eventually(rewritten, timeout=5, message="risk writes its own (resumed) state again")
    assert risk.service is not None
    assert risk.service.metrics.halt_rewrites._value.get() >= 1
    status = await bus.status()
    assert status["halted"] == "false"


async def test_a_halt_whose_stored_copy_was_lost_is_stored_again(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET_EXECUTOR)
    await risk.start()
    assert (await bus.ctl("halt", HaltRequest(reason="by hand", operator="alice"))).ok
    await halted_by(bus, "alice")
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    await bucket.delete(subjects.HALT_KEY)
    state = await halted_by(bus, "alice")
    assert state.reason == "by hand"

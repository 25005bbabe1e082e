"""Risk on real NATS: worst-case position cuts, config refusals, restart catch-up, bad input."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import aiohttp
import pytest

from mm_proto import ConfigGetRequest, ConfigSetRequest, Fill, HaltRequest, Side, subjects
from mm_runtime.nats_server import free_port
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

MID = 1_000_000  # BTCUSDT 100000.0 in ticks of 0.10, as the conftest's book
FILL_SUBJECT = subjects.exec_fill("bybit", "linear", "BTCUSDT")


def fill(fill_id: str, side: Side, size_lots: int, price_ticks: int = MID) -> Fill:
    now = time.time_ns()
    return Fill(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        fill_id=fill_id,
        client_order_id=f"c-{fill_id}",
        venue_order_id=f"v-{fill_id}",
        side=side,
        price_ticks=price_ticks,
        size_lots=size_lots,
        fee="0",
        fee_currency="USDT",
        is_maker=True,
        ts_exchange_ns=now,
        ts_received_ns=now,
    )


async def position_is(bus: Bus, lots: int) -> None:
    async def reached() -> bool:
        return (await bus.status()).get("BTCUSDT.position_lots") == str(lots)

    await eventually(reached, timeout=10, message=f"risk position {lots} lots")


async def test_an_intent_whose_bid_ladder_would_breach_the_position_limit_is_reduced(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", {"max_position_lots": 10, "max_order_lots": 5})
    await risk.start()
    await bus.book_seen()
    await bus.executor_fact(FILL_SUBJECT, fill("f1", Side.BUY, 4))
    await position_is(bus, 4)

    bids = [(MID - 20, 3), (MID - 30, 3), (MID - 40, 3)]
    await bus.intent(bids, [(MID + 20, 3)], intent_id="ladder")

    target = await bus.target_for("ladder")
    # 4 long + 3 + 3 = 10 fits exactly; the third bid would make 13, so it goes.
    assert bus.levels(target) == ([(MID - 20, 3), (MID - 30, 3)], [(MID + 20, 3)])
    event = await eventually(
        lambda: next((e for e in bus.events if e.check == "position_lots"), None), timeout=5
    )
    assert (event.outcome, event.observed, event.limit) == ("reduce", "13", "10")
    stream = await bus.js.stream_info(subjects.RISK_STREAM)
    assert stream.state.messages >= 1


async def test_fills_published_while_risk_is_down_are_applied_after_restart_exactly_once(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.executor_fact(FILL_SUBJECT, fill("a", Side.BUY, 2))
    await position_is(bus, 2)
    await risk.stop()
    await bus.executor_fact(FILL_SUBJECT, fill("b", Side.BUY, 3))
    await risk.start()
    await position_is(bus, 5)
    # A marker fill afterwards lands on exactly 4: nothing above was counted twice.
    await bus.executor_fact(FILL_SUBJECT, fill("c", Side.SELL, 1))
    await position_is(bus, 4)


async def test_a_recreated_exec_stream_discards_the_stale_snapshot_instead_of_skipping_facts(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.executor_fact(FILL_SUBJECT, fill("old", Side.BUY, 2))
    await position_is(bus, 2)
    await risk.stop()
    await bus.js.delete_stream(subjects.EXEC_STREAM)
    await bus.js.add_stream(name=subjects.EXEC_STREAM, subjects=list(subjects.EXEC_STREAM_SUBJECTS))
    # Sequence 1 again: a snapshot kept from the old stream would skip it.
    await bus.executor_fact(FILL_SUBJECT, fill("new", Side.BUY, 3))
    await risk.start()
    await position_is(bus, 3)


async def test_contradictory_config_set_is_refused_with_its_reason_and_nothing_changes(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    refused = await bus.ctl(
        "config-set",
        ConfigSetRequest(key="risk.BTCUSDT", value=json.dumps({"max_position_notional": 10**9})),
    )
    assert not refused.ok
    assert "max_gross_notional" in refused.message
    restart_only = await bus.ctl(
        "config-set", ConfigSetRequest(key="risk.default", value=json.dumps({"pnl_window_s": 5}))
    )
    assert not restart_only.ok
    assert "restart" in restart_only.message
    current = await bus.ctl("config-get", ConfigGetRequest(key=""))
    assert "risk.BTCUSDT" not in current.data


async def test_a_valid_config_set_applies_live_to_the_next_intent(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.book_seen()
    stored = await bus.ctl(
        "config-set", ConfigSetRequest(key="risk.BTCUSDT", value=json.dumps({"max_order_lots": 2}))
    )
    assert stored.ok, stored.message
    effective = await bus.ctl("config-get", ConfigGetRequest(key=""))
    assert json.loads(effective.data["effective.BTCUSDT"])["max_order_lots"] == 2
    await bus.intent([(MID - 20, 7)], [], intent_id="big")
    target = await bus.target_for("big")
    assert bus.levels(target) == ([(MID - 20, 2)], [])


async def test_an_invalid_entry_written_to_kv_is_refused_with_a_risk_event(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.put_config("risk.default", {"max_order_lots": 5_000, "max_position_lots": 10})
    event = await eventually(
        lambda: next((e for e in bus.events if e.check == "config"), None), timeout=5
    )
    assert event.outcome == "block"
    assert "max_order_lots" in event.detail
    effective = await bus.ctl("config-get", ConfigGetRequest(key=""))
    assert json.loads(effective.data["effective.default"])["max_order_lots"] == 100


async def test_risk_starts_on_defaults_past_a_poisoned_entry_and_config_set_repairs_it(
    bus: Bus, risk: RiskProcess
) -> None:
    # Risk used to refuse to start here, crash-looping on an entry only it could repair.
    await bus.put_config("risk.default", {"max_net_notional": 10, "max_gross_notional": 5})
    await bus.put_config("risk.BTCUSDT", {"max_order_lots": 7})
    await risk.start()
    status = await bus.status()
    assert "max_net_notional" in status["config_refused.risk.default"]
    event = await eventually(
        lambda: next((e for e in bus.events if e.check == "config"), None), timeout=5
    )
    assert event.outcome == "block"
    assert event.detail.startswith("risk.default refused")
    effective = (await bus.ctl("config-get", ConfigGetRequest(key=""))).data
    assert json.loads(effective["effective.default"])["max_net_notional"] == "25000"  # the default
    # the good entry still applies
    assert json.loads(effective["effective.BTCUSDT"])["max_order_lots"] == 7

    repaired = ConfigSetRequest(key="risk.default", value=json.dumps({"max_net_notional": 20_000}))
    stored = await bus.ctl("config-set", repaired)
    assert stored.ok, stored.message

    async def repaired_in_force() -> bool:
        status = await bus.status()
        return not any(key.startswith("config_refused.") for key in status)

    await eventually(repaired_in_force, timeout=5, message="the repaired entry never applied")


@pytest.mark.parametrize(
    ("value", "mentions"),
    [
        ({"max_drawdown": 1e15}, "max_drawdown"),
        ({"max_gross_notional": "Infinity"}, "max_gross_notional"),
        ({"price_band_bps": 10_000}, "price_band_bps"),
        ({"executor_heartbeat_timeout_ms": 950_400_000}, "executor_heartbeat_timeout_ms"),
        ({"max_position_lots": 5_000}, "max_position_lots may rise at most 2x"),
        ({"md_down_after_ms": 60_000}, "md_down_after_ms may rise at most 2x"),
    ],
)
async def test_config_set_outside_a_bound_or_beyond_a_step_is_refused_and_nothing_changes(
    bus: Bus, risk: RiskProcess, value: dict[str, object], mentions: str
) -> None:
    await risk.start()
    before = (await bus.ctl("config-get", ConfigGetRequest(key=""))).data["effective.default"]
    refused = await bus.ctl(
        "config-set", ConfigSetRequest(key="risk.default", value=json.dumps(value))
    )
    assert not refused.ok
    assert mentions in refused.message
    after = await bus.ctl("config-get", ConfigGetRequest(key=""))
    assert after.data["effective.default"] == before
    assert "risk.default" not in after.data


async def test_garbage_inputs_are_dropped_or_answered_and_risk_keeps_working(
    bus: Bus, risk: RiskProcess
) -> None:
    await risk.start()
    await bus.book_seen()
    await bus.client.publish(subjects.quote_intent("bybit", "linear", "BTCUSDT"), b"\xc1garbage")
    await bus.js.publish(FILL_SUBJECT, b"not msgpack")
    reply = await bus.client.request(subjects.ctl("risk", "halt"), b"\x00", timeout=5)
    assert b"expected" in reply.data
    await bus.intent([(MID - 20, 1)], [(MID + 20, 1)], symbol="XRPUSDT", intent_id="foreign")
    await bus.executor_fact(FILL_SUBJECT, fill("after-garbage", Side.BUY, 1))
    await position_is(bus, 1)
    await bus.intent([(MID - 20, 1)], [(MID + 20, 1)], intent_id="good")
    target = await bus.target_for("good")
    assert not target.cancel_all
    assert not any(t.intent_id == "foreign" for t in bus.targets)
    assert (await bus.status())["halted"] == "false"


async def test_metrics_count_check_outcomes_and_show_the_halt(bus: Bus, risk: RiskProcess) -> None:
    port = free_port()
    risk.settings = risk.settings.model_copy(
        update={"http": risk.settings.http.model_copy(update={"port": port})}
    )
    await bus.put_config("risk.default", {"max_order_lots": 2})
    await risk.start()
    await bus.book_seen()
    await bus.intent([(MID - 20, 5)], [], intent_id="cut")
    await bus.target_for("cut")
    assert (await bus.ctl("halt", HaltRequest(reason="metrics", operator="alice"))).ok

    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    assert 'risk_check_outcomes_total{check="max_order_qty",outcome="reduce"} 1.0' in text
    assert 'risk_check_outcomes_total{check="position_lots",outcome="pass"} 1.0' in text
    assert "risk_halted 1.0" in text
    assert 'risk_halts_total{trigger="manual"} 1.0' in text
    assert "risk_check_latency_seconds_count 1.0" in text

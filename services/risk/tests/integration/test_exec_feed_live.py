"""Risk's EXEC reader on a real NATS: stray and forged inbox messages, a server restart, a killed
task and sustained load never leave risk blind to the executor's facts."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from nats.errors import NoRespondersError

from mm_proto import Fill, Side, subjects
from mm_runtime.nats_server import NatsServer
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess

    from risk.settings import RiskSettings

MID = 1_000_000
QUIET = {"executor_heartbeat_timeout_ms": 600_000, "md_down_after_ms": 600_000}


def fill(fill_id: str, lots: int = 1, side: Side = Side.BUY) -> Fill:
    now = time.time_ns()
    return Fill(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        fill_id=fill_id,
        client_order_id="c",
        venue_order_id="v",
        side=side,
        price_ticks=MID,
        size_lots=lots,
        fee="0",
        fee_currency="USDT",
        is_maker=True,
        ts_exchange_ns=now,
        ts_received_ns=now,
    )


async def position_becomes(bus: Bus, lots: int, timeout: float = 10) -> None:  # noqa: ASYNC109
    async def reached() -> bool:
        try:
            status = await bus.status()
        except NoRespondersError:  # risk not yet back on a restarted server: down, not wrong
            return False
        return status["BTCUSDT.position_lots"] == str(lots)

    await eventually(reached, timeout=timeout, interval=0.05, message=f"position {lots} lots")


def feed_inbox(risk: RiskProcess) -> str:
    assert risk.service is not None
    return risk.service.feed.inbox


async def test_a_plain_message_on_the_feeds_inbox_is_dropped_and_facts_keep_flowing(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("f1"))
    await position_becomes(bus, 1)
    for _ in range(3):
        await bus.client.publish(feed_inbox(risk), b"not a jetstream message")
    await bus.client.flush()
    await bus.executor_fact(subject, fill("f2"))
    await position_becomes(bus, 2)
    assert risk.service is not None
    dropped = risk.service.runtime.registry.get_sample_value(
        "risk_exec_messages_total", {"kind": "not_jetstream", "result": "dropped"}
    )
    assert dropped is not None
    assert dropped >= 1


async def test_a_forged_service_unavailable_status_on_the_inbox_does_not_stop_the_feed(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    for number in range(5):
        await bus.client.publish(
            feed_inbox(risk), b"", headers={"Status": "503", "Description": "No Responders"}
        )
        await bus.client.flush()
        await asyncio.sleep(0.1)  # spread over several fetches (what is tested is the reader)
        await bus.executor_fact(subject, fill(f"u{number}"))
    await position_becomes(bus, 5)


async def test_the_feed_applies_facts_published_after_the_nats_server_restarts(
    bus: Bus, risk: RiskProcess, nats_server: NatsServer
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("before"))
    await position_becomes(bus, 1)
    nats_server.stop()
    await asyncio.sleep(1.5)  # the server is really gone for a while: fetches fail meanwhile
    nats_server.start()
    await eventually(lambda: bus.client.is_connected, timeout=15, message="test reconnected")

    async def published() -> bool:
        try:
            await bus.executor_fact(subject, fill("after"))
        except Exception:
            return False
        return True

    await eventually(published, timeout=15, interval=0.2, message="JetStream back")
    await position_becomes(bus, 2, timeout=20)


async def test_a_killed_feed_task_is_logged_restarted_and_readiness_recovers(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    assert risk.service is not None
    tasks = risk.service.runtime.tasks
    config = "risk-follow-config-risk.>"  # the config follower, supervised by the bus
    assert set(tasks.names) == {"risk-exec-feed", "risk-exec-lag", config, "risk-clock"}
    for name in tasks.names:
        task = tasks.task(name)
        assert task is not None
        task.cancel()
        await eventually(lambda: not tasks.readiness()[0], timeout=5, interval=0.005)
        await eventually(lambda: tasks.readiness()[0], timeout=10, message=f"{name} back")
        restarted = tasks.task(name)
        assert restarted is not None
        assert restarted is not task
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("after-kill"))
    await position_becomes(bus, 1)


async def test_the_consumer_keeps_up_with_a_steady_stream_of_facts(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    consumer_pending: list[int] = []
    total = 0
    for second in range(8):
        started = time.monotonic()
        for number in range(150):
            side = Side.BUY if number % 2 == 0 else Side.SELL
            await bus.executor_fact(subject, fill(f"load-{second}-{number}", side=side))
            total += 1
        info = await bus.js.consumer_info(subjects.EXEC_STREAM, "risk")
        consumer_pending.append(info.num_pending + info.num_ack_pending)
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    await position_becomes(bus, 0)

    async def drained() -> bool:
        info = await bus.js.consumer_info(subjects.EXEC_STREAM, "risk")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(drained, timeout=10, message="consumer drained")
    # Sampled right after each burst of 150: the reader never falls more than a burst behind.
    assert max(consumer_pending) <= 150, consumer_pending
    assert risk.service is not None
    applied = risk.service.runtime.registry.get_sample_value(
        "risk_exec_messages_total", {"kind": "exec_fill", "result": "applied"}
    )
    assert applied == total


async def test_the_feed_survives_a_server_without_jetstream_and_reads_again_when_it_is_back(
    bus: Bus, risk: RiskProcess, nats_server: NatsServer
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("before"))
    await position_becomes(bus, 1)
    nats_server.stop()
    # The same port without JetStream: every pull is answered 503 (ServiceUnavailableError).
    plain = await asyncio.create_subprocess_exec(
        str(nats_server.binary), "-a", "127.0.0.1", "-p", str(nats_server.port)
    )
    try:
        assert risk.service is not None
        registry = risk.service.runtime.registry
        await eventually(
            lambda: registry.get_sample_value(
                "risk_exec_fetch_failures_total", {"reason": "jetstream_unavailable"}
            ),
            timeout=20,
            message="pulls refused while JetStream is off",
        )
    finally:
        plain.terminate()
        await plain.wait()
    nats_server.start()

    async def published() -> bool:
        try:
            await bus.executor_fact(subject, fill("after"))
        except Exception:
            return False
        return True

    await eventually(published, timeout=20, interval=0.2, message="JetStream back")
    await position_becomes(bus, 2, timeout=20)


async def test_the_portfolio_snapshot_is_coalesced_and_acks_wait_for_it(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    writes: list[dict[str, object]] = []

    async def on_snapshot(msg: Msg) -> None:
        writes.append(json.loads(msg.data))

    subscription = await bus.client.subscribe(
        f"$KV.{subjects.RISK_BUCKET}.portfolio", cb=on_snapshot
    )
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    started = time.monotonic()
    for number in range(120):  # one at a time: without coalescing, about one snapshot each
        await bus.executor_fact(subject, fill(f"steady-{number}"))
        await asyncio.sleep(0.01)
    await position_becomes(bus, 120)
    elapsed = time.monotonic() - started

    async def all_acked() -> bool:
        info = await bus.js.consumer_info(subjects.EXEC_STREAM, "risk")
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(all_acked, timeout=10, message="every fact acked once a snapshot covers it")
    await subscription.unsubscribe()
    assert risk.service is not None
    interval = risk.service.settings.snapshot_interval_s
    assert 1 <= len(writes) <= elapsed / interval + 3, (len(writes), elapsed)
    last = await bus.js.stream_info(subjects.EXEC_STREAM)
    assert writes[-1]["sequence"] == last.state.last_seq  # the last snapshot covers every fact


async def test_stopping_stores_the_snapshot_of_every_applied_fact(
    bus: Bus, risk: RiskProcess, risk_settings: RiskSettings
) -> None:
    await bus.put_config("risk.default", QUIET)
    # An interval the test cannot outlast: only the stop can have stored the last facts.
    risk.settings = risk_settings.model_copy(
        update={"snapshot_interval_s": 30.0, "exec_ack_wait_s": 120.0}
    )
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    for number in range(5):
        await bus.executor_fact(subject, fill(f"before-stop-{number}"))
    await position_becomes(bus, 5)
    await risk.stop()
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    stored = json.loads((await bucket.get("portfolio")).value or b"{}")
    last = await bus.js.stream_info(subjects.EXEC_STREAM)
    assert stored["sequence"] == last.state.last_seq
    info = await bus.js.consumer_info(subjects.EXEC_STREAM, "risk")
    assert info.num_ack_pending == 0


async def test_facts_a_killed_risk_was_handed_but_never_stored_are_applied_first_on_restart(
    bus: Bus, risk: RiskProcess
) -> None:
    """A SIGKILLed risk leaves facts delivered but unacked, which the server would hand out
    again only after `ack_wait`, behind newer ones; a restarted risk must not skip them."""
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("stored"))
    await position_becomes(bus, 1)
    await risk.stop()  # the snapshot covers "stored"; what follows is the killed life
    handed = await bus.js.pull_subscribe_bind(durable="risk", stream=subjects.EXEC_STREAM)
    for number in range(2):
        await bus.executor_fact(subject, fill(f"handed-{number}"))
    delivered = await handed.fetch(2, timeout=5)
    assert [msg.metadata.sequence.stream for msg in delivered] == [2, 3]
    await handed.unsubscribe()  # applied by the killed life, neither stored nor acked
    await bus.executor_fact(subject, fill("after-restart", lots=4, side=Side.SELL))
    await risk.start()
    await position_becomes(bus, -1)
    await asyncio.sleep(risk.settings.exec_ack_wait_s * 2)  # past any redelivery of the handed
    assert (await bus.status())["BTCUSDT.position_lots"] == "-1"
    assert not [event for event in bus.events if event.kind == "halt"], bus.events


async def test_a_stored_snapshot_past_the_streams_end_is_discarded_not_trusted(
    bus: Bus, risk: RiskProcess
) -> None:
    """A damaged or forged snapshot sequence beyond EXEC's last would have risk skip every new
    fact (blind, never halted); it is discarded, as a snapshot of another stream is."""
    await bus.put_config("risk.default", QUIET)
    await risk.start()
    subject = subjects.exec_fill("bybit", "linear", "BTCUSDT")
    await bus.executor_fact(subject, fill("before"))
    await position_becomes(bus, 1)
    await risk.stop()
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    stored = json.loads((await bucket.get("portfolio")).value or b"{}")
    await bucket.put("portfolio", json.dumps({**stored, "sequence": 10**9}).encode())
    await risk.start()  # the stream read again from its start: "before" counts once
    await position_becomes(bus, 1)
    await bus.executor_fact(subject, fill("after"))
    await position_becomes(bus, 2)

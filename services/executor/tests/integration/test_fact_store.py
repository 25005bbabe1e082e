"""The fact store against a real nats-server whose JetStream goes away: it fails closed once,
holds facts in order up to its bound (counting the rest), and stores them in order once back."""

from __future__ import annotations

import asyncio

import nats
from prometheus_client import CollectorRegistry

from executor.fact_store import FactStore
from executor.metrics import ExecutorMetrics
from mm_proto import Position, decode, subjects
from mm_runtime.jetstream import ensure_layout
from mm_runtime.testing import NatsServer, eventually

SUBJECT = subjects.exec_position("bybit", "linear", "BTCUSDT")


def position(lots: int) -> Position:
    return Position(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        size_lots=lots,
        entry_price="60000",
        realized_pnl="0",
        unrealized_pnl="0",
        ts_exchange_ns=lots,
    )


async def test_facts_are_held_in_order_within_the_bound_and_stored_when_jetstream_is_back(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url, reconnect_time_wait=0.2)
    js = client.jetstream()
    await ensure_layout(js)
    registry = CollectorRegistry()
    downs: list[str] = []
    ups: list[bool] = []
    store = FactStore(js, ExecutorMetrics(registry), downs.append, lambda: ups.append(True), 5)
    runner = asyncio.create_task(store.run())
    try:
        assert await store.publish(SUBJECT, position(0), "p0")
        await asyncio.to_thread(nats_server.restart, False)
        await eventually(lambda: client.is_connected, timeout=10)
        for lots in range(1, 9):  # 8 facts, room for 5
            assert not await store.publish(SUBJECT, position(lots), f"p{lots}")
        assert len(downs) == 1
        assert "jetstream cannot store facts" in downs[0]
        assert [fact.message_id for fact in store.backlog] == ["p1", "p2", "p3", "p4", "p5"]
        dropped = registry.get_sample_value(
            "mm_executor_dropped_total", {"source": "publish", "reason": "backlog_full"}
        )
        assert dropped == 3

        await asyncio.to_thread(nats_server.restart)
        await eventually(lambda: ups, timeout=30, message="store back")
        assert store.down_reason is None
        info = await js.stream_info(subjects.EXEC_STREAM)
        stored = [
            decode((await js.get_msg(subjects.EXEC_STREAM, seq)).data or b"", Position).size_lots
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
        assert stored == [0, 1, 2, 3, 4, 5]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await client.close()

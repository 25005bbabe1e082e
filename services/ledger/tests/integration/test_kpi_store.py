"""Stream KPI on a real nats-server: a flush is stored whole or not at all, once.

A ledger killed between two rows of a flush stored row by row left a flush with some symbols'
rows and not others'; a restart resumed from it and opened the other symbols' books empty. The
writer stores each flush as one atomic batch: these tests show a batch the server refuses part
of leaves nothing, a batch stored again is stored once, and a KPI stream made before atomic
batches were used is switched over at open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import pytest

from ledger.kpi_store import KpiStoreError, KpiWriter, latest_flush, read_range
from mm_proto import KpiSnapshot, subjects
from mm_proto.examples import examples
from mm_runtime.jetstream import STREAMS, ensure_layout
from mm_runtime.testing import NatsServer

_ROW = next(m for m in examples() if isinstance(m, KpiSnapshot))


def _flush(ts_end_ns: int, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")) -> list[KpiSnapshot]:
    return [
        msgspec.structs.replace(_ROW, symbol=symbol, side=side, ts_end_ns=ts_end_ns)
        for symbol in symbols
        for side in ("all", "buy", "sell")
    ]


async def _stored(client: Any) -> list[KpiSnapshot]:
    js = client.jetstream()
    info = await js.stream_info(subjects.KPI_STREAM)
    return [row for _, row in await read_range(js, info.state.first_seq, info.state.last_seq)]


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Any]:
    client = await nats.connect(nats_server.url)
    await ensure_layout(client.jetstream())
    yield client
    await client.close()


async def test_flushes_are_stored_in_order_and_the_newest_is_read_back(client: Any) -> None:
    writer = await KpiWriter.open(client)
    assert writer.atomic
    await writer.store(_flush(1_000) + _flush(2_000))
    stored = await _stored(client)
    assert [(r.ts_end_ns, r.symbol, r.side) for r in stored] == [
        (r.ts_end_ns, r.symbol, r.side) for r in _flush(1_000) + _flush(2_000)
    ]
    newest = await latest_flush(client.jetstream(), _ROW.venue, _ROW.category, 1_000)
    assert {(r.symbol, r.ts_end_ns) for r in newest} == {("BTCUSDT", 2_000), ("ETHUSDT", 2_000)}


async def test_a_flush_the_server_refuses_a_row_of_leaves_no_row_of_it(client: Any) -> None:
    writer = await KpiWriter.open(client)
    js = client.jetstream()
    config = (await js.stream_info(subjects.KPI_STREAM)).config
    await js.update_stream(dataclasses.replace(config, max_msg_size=4096))
    rows = _flush(1_000)
    rows[4] = msgspec.structs.replace(rows[4], resume_state="x" * 8192)  # ETHUSDT buy: too big
    with pytest.raises(KpiStoreError):
        await writer.store(rows)
    # Row by row, BTCUSDT's rows and ETHUSDT's `all` row would be stored now.
    assert await _stored(client) == []
    assert await latest_flush(js, _ROW.venue, _ROW.category, 1_000) == []
    await writer.store(_flush(2_000))  # the writer goes on with the next flush
    assert [r.ts_end_ns for r in await _stored(client)] == [2_000] * 6


async def test_a_flush_stored_again_after_a_lost_ack_is_stored_once(client: Any) -> None:
    writer = await KpiWriter.open(client)
    await writer.store(_flush(1_000))
    # The ledger retries every unstored row with the next flush: here the first flush's commit
    # had reached the server and only its answer was lost.
    await writer.store(_flush(1_000) + _flush(2_000))
    assert [r.ts_end_ns for r in await _stored(client)] == [1_000] * 6 + [2_000] * 6


async def test_a_one_row_flush_is_a_batch_of_one(client: Any) -> None:
    writer = await KpiWriter.open(client)
    await writer.store(_flush(1_000, ("BTCUSDT",))[:1])
    assert [(r.symbol, r.side) for r in await _stored(client)] == [("BTCUSDT", "all")]


async def test_a_kpi_stream_made_before_atomic_batches_is_switched_over(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        [agreed] = [s for s in STREAMS if s.name == subjects.KPI_STREAM]
        await js.add_stream(dataclasses.replace(agreed, allow_atomic=None))
        assert not (await js.stream_info(subjects.KPI_STREAM)).config.allow_atomic
        writer = await KpiWriter.open(client)
        assert writer.atomic
        assert (await js.stream_info(subjects.KPI_STREAM)).config.allow_atomic
        await writer.store(_flush(1_000))
        assert len(await _stored(client)) == 6
    finally:
        await client.close()


def test_the_agreed_kpi_stream_takes_atomic_batches() -> None:
    [agreed] = [s for s in STREAMS if s.name == subjects.KPI_STREAM]
    assert agreed.allow_atomic
    assert not any(s.allow_atomic for s in STREAMS if s.name != subjects.KPI_STREAM)

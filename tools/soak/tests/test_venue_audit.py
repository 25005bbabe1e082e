"""The venue audit matches fills by execution id and then compares their contents: a fill on the
EXEC stream whose id the venue knows but whose price, size, side or fee differ is reported."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import msgspec
import nats
import pytest

from mm_bybit.convert import fill_from_execution
from mm_bybit.order_requests import CreateOrder
from mm_proto import Fill, InstrumentDefinition, encode, subjects
from mm_runtime.jetstream import ensure_layout
from mm_runtime.testing import NatsServer
from mm_sim.testing import API_KEY, API_SECRET, running_simulator, simulator_settings
from mm_soak.venue_audit import VenueAudit


@pytest.fixture
async def audit_and_fill(nats_server: NatsServer) -> AsyncIterator[tuple[VenueAudit, Fill]]:
    """An audit of a simulator with one taker fill of ours, and that fill as the executor would
    publish it."""
    async with running_simulator(simulator_settings()) as sim:
        client = await nats.connect(nats_server.url)
        await ensure_layout(client.jetstream())
        audit = VenueAudit(sim.rest_url, API_KEY, API_SECRET, client, ["BTCUSDT"])
        try:
            await audit.api.send_order(
                CreateOrder(
                    category="linear",
                    symbol="BTCUSDT",
                    side="Buy",
                    order_type="Market",
                    qty="0.002",
                )
            )
            executions = await audit.api.executions("linear")
            assert len(executions) == 1, executions
            instrument: InstrumentDefinition = await audit.instrument("BTCUSDT")
            yield audit, fill_from_execution(executions[0], instrument, time.time_ns())
        finally:
            await audit.close()
            await client.drain()


async def _publish(audit: VenueAudit, fill: Fill) -> None:
    subject = subjects.exec_fill("bybit", "linear", fill.symbol)
    await audit.client.jetstream().publish(subject, encode(fill))


async def test_a_fill_equal_to_the_venues_execution_agrees(
    audit_and_fill: tuple[VenueAudit, Fill],
) -> None:
    audit, fill = audit_and_fill
    await _publish(audit, fill)
    findings = await audit.audit_once()
    assert findings.lost_fills == [], findings.describe()
    assert findings.altered_fills == [], findings.describe()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"price_ticks": 1}, "price ticks"),
        ({"size_lots": 7}, "lots"),
        ({"fee": "0.5"}, "fee"),
    ],
)
async def test_a_fill_whose_id_matches_but_whose_contents_differ_is_reported(
    audit_and_fill: tuple[VenueAudit, Fill], change: dict[str, object], named: str
) -> None:
    audit, fill = audit_and_fill
    await _publish(audit, msgspec.structs.replace(fill, **change))
    findings = await audit.audit_once()
    assert not findings.ok
    assert findings.lost_fills == []
    assert len(findings.altered_fills) == 1, findings.describe()
    assert fill.fill_id in findings.altered_fills[0]
    assert named in findings.altered_fills[0]
    assert "differ from the venue's" in findings.describe()


async def test_a_fill_on_the_other_side_is_reported(
    audit_and_fill: tuple[VenueAudit, Fill],
) -> None:
    audit, fill = audit_and_fill
    other = fill.side.__class__("sell" if fill.side.value == "buy" else "buy")
    await _publish(audit, msgspec.structs.replace(fill, side=other))
    findings = await audit.audit_once()
    assert any("side venue buy, EXEC sell" in line for line in findings.altered_fills)


async def test_the_stream_is_read_once_and_later_audits_see_only_what_is_new_and_right(
    audit_and_fill: tuple[VenueAudit, Fill],
) -> None:
    audit, fill = audit_and_fill
    await _publish(audit, fill)
    assert [f.fill_id for f in (await audit.stream_facts())[0]] == [fill.fill_id]
    second = msgspec.structs.replace(fill, fill_id="second")
    await _publish(audit, second)
    fills, _ = await audit.stream_facts()
    assert [f.fill_id for f in fills] == [fill.fill_id, "second"]
    # The stream deleted and recreated (sequences from 1 again): the audit must not keep the
    # old stream's facts nor skip the new stream's first sequences.
    js = audit.client.jetstream()
    await js.delete_stream(subjects.EXEC_STREAM)
    await ensure_layout(js)
    await _publish(audit, msgspec.structs.replace(fill, fill_id="fresh"))
    fills, _ = await audit.stream_facts()
    assert [f.fill_id for f in fills] == ["fresh"]

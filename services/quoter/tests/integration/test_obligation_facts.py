"""The quoter stores its obligation snapshots for `mm gate`: per symbol what it counted since the
last publish, nothing for a symbol without snapshots, and counts the bus did not store are kept
for the next summary, never lost or counted twice."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from mm_proto import ObligationSummary, decode, subjects
from mm_runtime.jetstream import ensure_layout, publish_fact
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

BID, ASK = 999_990, 1_000_010
SYMBOL = "BTCUSDT"
OBLIGATION = {
    "obligation_enabled": True,
    "obligation_notional_5bps": 2_000.0,
    "obligation_notional_10bps": 3_000.0,
    "obligation_snapshot_s": 0.1,
    "min_spread_bps": 8.0,
    "max_inventory_lots": 1_000,
}


async def stored(rig: QuoterRig) -> list[ObligationSummary]:
    info = await rig.js.stream_info(subjects.QUOTER_STREAM)
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        raw = await rig.js.get_msg(subjects.QUOTER_STREAM, sequence)
        found.append(decode(raw.data or b"", ObligationSummary))
    return [summary for summary in found if summary.symbol == SYMBOL]


async def test_a_quoters_snapshots_are_stored_once_each_across_a_failed_publish(
    rig: QuoterRig,
) -> None:
    await rig.start(params=OBLIGATION)
    (service,) = rig.services
    publish = functools.partial(publish_fact, rig.js)
    assert await service.obligation.flush(publish) == 0  # no snapshot yet: nothing published
    await rig.intent_for(await rig.book(BID, ASK))
    counter = service.quoters[SYMBOL].coverage
    await eventually(lambda: counter.snapshots >= 2, timeout=5, message="two snapshots")
    assert await service.obligation.flush(publish) == 1
    [first] = await stored(rig)
    assert first.snapshots >= 2
    assert 0 <= first.met <= first.snapshots
    await rig.js.delete_stream(subjects.QUOTER_STREAM)  # the bus cannot store it now
    await eventually(lambda: counter.snapshots >= first.snapshots + 2, timeout=5, message="more")
    assert await service.obligation.flush(publish) == 0
    registry = service.runtime.registry
    assert registry.get_sample_value("quoter_obligation_summaries_unstored_total") == 1
    await ensure_layout(rig.js)
    await eventually(lambda: counter.snapshots >= first.snapshots + 3, timeout=5, message="more")
    assert await service.obligation.flush(publish) == 1
    [late] = await stored(rig)  # the stream was recreated: only the summary after it
    assert late.ts_start_ns == first.ts_end_ns  # from where the stored one ended: none lost
    assert late.snapshots >= 3
    assert first.snapshots + late.snapshots <= counter.snapshots
    assert (
        first.met + late.met == counter.met or counter.snapshots > first.snapshots + late.snapshots
    )

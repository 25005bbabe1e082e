"""Two quoters in lease mode: only the lease holder publishes a symbol's intents; when it stops
renewing, the other takes the symbol over and publishes a full ladder without waiting for a new
book, and the silent one publishes nothing more for it."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

from mm_runtime.symbol_lease import preferred_replica
from mm_runtime.testing import eventually

SYMBOL = "BTCUSDT"  # the rig's instrument
BID, ASK = 999_990, 1_000_010
REPLICAS = ["1", "2"]
LEASE = {"enabled": True, "replicas": REPLICAS, "ttl_s": 1.2, "margin_s": 0.2}
HOLDER = preferred_replica(SYMBOL, REPLICAS)
OTHER = next(name for name in REPLICAS if name != HOLDER)


def publishers(rig: QuoterRig, since: int = 0) -> set[str]:
    return {intent.intent_id.split("-")[0] for intent in rig.intents[since:]}


async def test_only_the_holder_publishes_and_the_other_takes_over_when_it_goes_silent(
    rig: QuoterRig,
) -> None:
    await rig.start(instance_id=HOLDER, lease=LEASE)
    await rig.start(instance_id=OTHER, lease=LEASE)
    holder, other = rig.services
    await eventually(lambda: holder.shards.may_publish(SYMBOL), timeout=5)
    await rig.intent_for(await rig.book(BID, ASK))
    await rig.intent_for(await rig.book(BID + 3, ASK + 3))
    assert publishers(rig) == {HOLDER}
    assert holder.shards.keeper is not None
    holder.shards.keeper.paused = True
    paused_at, paused = time.monotonic(), len(rig.intents)
    await eventually(lambda: other.shards.may_publish(SYMBOL), timeout=5, message="takeover")
    assert not holder.shards.may_publish(SYMBOL)
    expired = len(rig.intents)
    # A fresh ladder from the new owner, from its timer: no new book needed. Counted from the
    # pause, since that timer may fire before this test's poll sees the takeover.
    await eventually(lambda: OTHER in publishers(rig, paused), timeout=3)
    await rig.intent_for(await rig.book(BID + 6, ASK + 6))
    assert publishers(rig, expired) == {OTHER}
    assert time.monotonic() - paused_at >= 1.0  # the holder's ttl minus its margin
    view = json.loads(other.shards.status()["leases"])[SYMBOL]
    assert (view["holder"], view["epoch"], view["ours"]) == (OTHER, 2, True)
    assert SYMBOL in json.loads((await rig.status())["leases"])  # whichever replica answers

"""`ctl.quoter.<verb>`: config get and set vetted like the live path; foreign verbs answered."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from nats.js.errors import NoKeysError

from mm_proto import (
    ConfigGetRequest,
    ConfigSetRequest,
    CtlReply,
    HaltRequest,
    decode,
    encode,
    subjects,
)

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

SYMBOL = "BTCUSDT"
BID, ASK = 999_990, 1_000_010


async def ctl(rig: QuoterRig, verb: str, request: object) -> CtlReply:
    reply = await rig.client.request(
        subjects.ctl("quoter", verb),
        encode(request),
        timeout=2,  # type: ignore[arg-type]
    )
    return decode(reply.data, CtlReply)


async def test_config_set_of_a_live_safe_entry_is_stored_and_reshapes_quotes(
    rig: QuoterRig,
) -> None:
    await rig.start()
    await rig.intent_for(await rig.book(BID, ASK))
    seen = len(rig.intents)
    value = json.dumps({"min_spread_bps": 50.0})
    stored = await ctl(rig, "config-set", ConfigSetRequest(key=f"quoter.{SYMBOL}", value=value))
    assert stored.ok, stored.message
    assert (await rig.next_intent(seen)).bids[0].price_ticks == 995_000
    current = await ctl(rig, "config-get", ConfigGetRequest(key=""))
    assert json.loads(current.data[f"quoter.{SYMBOL}"]) == {"min_spread_bps": 50.0}
    assert json.loads(current.data[f"effective.{SYMBOL}"])["min_spread_bps"] == 50.0


async def test_config_set_refuses_restart_only_and_invalid_entries_and_stores_nothing(
    rig: QuoterRig,
) -> None:
    await rig.start()
    restart_only = ConfigSetRequest(key="quoter.default", value='{"volatility_horizon_s": 1}')
    refused = await ctl(rig, "config-set", restart_only)
    assert not refused.ok
    assert "needs a restart" in refused.message
    invalid = await ctl(rig, "config-set", ConfigSetRequest(key="quoter.default", value="[]"))
    assert not invalid.ok
    assert "expected a JSON object" in invalid.message
    kv = await rig.js.key_value(subjects.CONFIG_BUCKET)
    with pytest.raises(NoKeysError):
        await kv.keys()
    missing = await ctl(rig, "config-get", ConfigGetRequest(key="quoter.default"))
    assert not missing.ok


async def test_commands_the_quoter_does_not_own_are_answered_with_where_to_send_them(
    rig: QuoterRig,
) -> None:
    await rig.start()
    reply = await ctl(rig, "halt", HaltRequest(reason="test", operator="me"))
    assert not reply.ok
    assert "ctl.risk.halt" in reply.message
    garbage = await rig.client.request(subjects.ctl("quoter", "status"), b"\xc1", timeout=2)
    assert not decode(garbage.data, CtlReply).ok

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
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import QuoterRig

SYMBOL = "BTCUSDT"
BID, ASK = 999_990, 1_000_010


async def ctl(rig: QuoterRig, verb: str, request: object) -> CtlReply:
    reply = await rig.client.request(
        subjects.ctl("quoter", verb),
        encode(request),
        timeout=10,  # type: ignore[arg-type]  # a config-set waits on KV round trips; slow under load
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


async def test_a_poisoned_entry_at_start_is_refused_loudly_and_config_set_replaces_it(
    rig: QuoterRig,
) -> None:
    await rig.put_config(f"quoter.{SYMBOL}", b'{"max_inventory_lots": Infinity, "levels": 2}')
    await rig.start()  # starts on the base params instead of raising on every tick
    status = await rig.status()
    assert "max_inventory_lots" in status[f"config_refused.quoter.{SYMBOL}"]
    assert json.loads(status[f"{SYMBOL}.params"])["levels"] == 1
    assert (await rig.intent_for(await rig.book(BID, ASK))).bids

    repaired = ConfigSetRequest(key=f"quoter.{SYMBOL}", value='{"max_inventory_lots": 60}')
    stored = await ctl(rig, "config-set", repaired)
    assert stored.ok, stored.message

    async def applied() -> bool:
        params = json.loads((await rig.status())[f"{SYMBOL}.params"])
        return bool(params["max_inventory_lots"] == 60)

    await eventually(applied, timeout=5, message="the repaired entry never applied")


async def test_config_set_beyond_a_step_is_refused_and_the_running_params_stay(
    rig: QuoterRig,
) -> None:
    await rig.start()
    huge = ConfigSetRequest(key=f"quoter.{SYMBOL}", value='{"max_inventory_lots": 1000000}')
    refused = await ctl(rig, "config-set", huge)
    assert not refused.ok
    assert "max_inventory_lots may rise at most 2x" in refused.message
    status = await rig.status()
    assert json.loads(status[f"{SYMBOL}.params"])["max_inventory_lots"] == 50
    with pytest.raises(NoKeysError):
        await (await rig.js.key_value(subjects.CONFIG_BUCKET)).keys()


async def test_config_set_beyond_risks_position_limit_is_refused_and_within_it_stored(
    rig: QuoterRig,
) -> None:
    await rig.start()  # max_inventory_lots 50
    risk = await rig.js.key_value(subjects.RISK_BUCKET)
    limits = {SYMBOL: {"max_position_lots": 60, "max_order_lots": 60}}
    await risk.put(subjects.RISK_LIMITS_KEY, json.dumps(limits).encode())

    inventory = ConfigSetRequest(key="quoter.default", value='{"max_inventory_lots": 100}')
    refused = await ctl(rig, "config-set", inventory)
    assert not refused.ok
    assert "max_inventory_lots 100 exceeds risk's max_position_lots 60" in refused.message
    growing = '{"level_size_lots": 20, "levels": 3, "level_size_multiplier": 2.0}'
    refused = await ctl(rig, "config-set", ConfigSetRequest(key=f"quoter.{SYMBOL}", value=growing))
    assert not refused.ok
    assert "one level 80 lots exceeds risk's max_position_lots 60" in refused.message
    within = ConfigSetRequest(key=f"quoter.{SYMBOL}", value='{"level_size_lots": 2}')
    assert (await ctl(rig, "config-set", within)).ok
    current = await ctl(rig, "config-get", ConfigGetRequest(key=""))
    assert json.loads(current.data[f"quoter.{SYMBOL}"]) == {"level_size_lots": 2}
    assert "quoter.default" not in current.data

    # Risk tightened below the running sizes: any change that keeps them is refused until fixed.
    limits[SYMBOL]["max_position_lots"] = 40
    await risk.put(subjects.RISK_LIMITS_KEY, json.dumps(limits).encode())
    refused = await ctl(rig, "config-set", within)
    assert "max_inventory_lots 50 exceeds risk's max_position_lots 40" in refused.message

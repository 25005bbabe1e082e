"""Risk writes the per-symbol sizes in force to KV `risk/limits` at start and within a second of a
change, so the quoter can refuse sizes beyond them without importing risk."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mm_proto import ConfigSetRequest, subjects
from mm_runtime.testing import eventually

if TYPE_CHECKING:  # importlib mode: conftest is loaded by pytest, not importable at run time
    from conftest import Bus, RiskProcess


async def stored_limits(bus: Bus) -> dict[str, Any]:
    bucket = await bus.js.key_value(subjects.RISK_BUCKET)
    try:
        entry = await bucket.get(subjects.RISK_LIMITS_KEY)
    except Exception:
        return {}
    loaded: dict[str, Any] = json.loads(entry.value or b"{}")
    return loaded


async def test_risk_stores_its_position_limits_at_start_and_after_a_live_change(
    bus: Bus, risk: RiskProcess
) -> None:
    await bus.put_config("risk.default", {"max_position_lots": 40, "max_order_lots": 20})
    await risk.start()
    at_start = await stored_limits(bus)
    assert at_start["BTCUSDT"] == {"max_position_lots": 40, "max_order_lots": 20}
    change = ConfigSetRequest(key="risk.BTCUSDT", value='{"max_position_lots": 30}')
    reply = await bus.ctl("config-set", change)
    assert reply.ok, reply.message

    async def tightened() -> bool:
        return (await stored_limits(bus)).get("BTCUSDT", {}).get("max_position_lots") == 30

    await eventually(tightened, timeout=5, message="the tightened limit stored")
    assert (await stored_limits(bus))["BTCUSDT"]["max_order_lots"] == 20

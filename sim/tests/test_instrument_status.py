"""An instrument's status changes through the admin API and shows in instruments-info."""

from __future__ import annotations

import aiohttp
import pytest

from mm_sim.testing import SimulatorHandle


async def _info(sim: SimulatorHandle, **params: str) -> list[dict[str, str]]:
    url = f"{sim.rest_url}/v5/market/instruments-info"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"category": "linear", **params}) as reply,
    ):
        body = await reply.json()
    return [{"symbol": row["symbol"], "status": row["status"]} for row in body["result"]["list"]]


async def test_a_symbol_set_to_delivering_is_listed_only_when_asked_for(
    sim: SimulatorHandle,
) -> None:
    assert {"symbol": "BTCUSDT", "status": "Trading"} in await _info(sim)
    await sim.admin.set_instrument_status("BTCUSDT", "Delivering")
    assert await _info(sim, symbol="BTCUSDT") == [{"symbol": "BTCUSDT", "status": "Delivering"}]
    assert "BTCUSDT" not in [row["symbol"] for row in await _info(sim)]  # Trading only
    assert await _info(sim, status="Delivering") == [{"symbol": "BTCUSDT", "status": "Delivering"}]
    await sim.admin.set_instrument_status("BTCUSDT", "Trading")
    assert {"symbol": "BTCUSDT", "status": "Trading"} in await _info(sim)


@pytest.mark.parametrize(
    ("symbol", "status", "code"),
    [("BTCUSDT", "Halted", "400"), ("BTCUSDT", None, "400"), ("NOPEUSDT", "Closed", "404")],
)
async def test_an_unknown_status_or_symbol_is_refused(
    sim: SimulatorHandle, symbol: str, status: str | None, code: str
) -> None:
    with pytest.raises(RuntimeError, match=f"received {code}"):
        await sim.admin.set_instrument_status(symbol, status)  # type: ignore[arg-type]
    assert await _info(sim, symbol="BTCUSDT") == [{"symbol": "BTCUSDT", "status": "Trading"}]

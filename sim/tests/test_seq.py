"""The cross sequence (`seq`) on executions and positions, as Bybit numbers them.

One `seq` per match, shared by its fills; a position carries the `seq` of its last change (-1
before its first trade) on REST and on the WebSocket alike, so a reader can tell which fills a
position read includes; and the sequence never goes back, not even across a restart.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from mm_sim.testing import SimulatorHandle, running_simulator, simulator_settings

from .test_private_ws import authed

TIMEOUT = 5.0


async def rest_position_seq(rest: Any) -> int:
    reply = await rest.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    (row,) = reply["result"]["list"]
    return int(row["seq"])


async def sweep_two_levels(sim: SimulatorHandle, rest: Any) -> list[dict[str, Any]]:
    """A market buy larger than the best ask level, so one match fills at two prices."""
    book = await sim.admin.book("BTCUSDT")
    best_qty = book["a"][0][1]
    qty = f"{float(best_qty) + 0.001:.3f}"
    reply = await rest.post(
        "/v5/order/create",
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": qty,
        },
    )
    assert reply["retCode"] == 0, reply
    executions: list[dict[str, Any]] = (await sim.admin.executions())["list"]
    return executions


async def test_the_fills_of_one_match_share_the_seq_the_rest_position_reports(
    sim: SimulatorHandle, rest: Any
) -> None:
    assert await rest_position_seq(rest) == -1
    executions = await sweep_two_levels(sim, rest)
    assert len({execution["execPrice"] for execution in executions}) >= 2
    seqs = {execution["seq"] for execution in executions}
    assert len(seqs) == 1
    assert await rest_position_seq(rest) == seqs.pop()


async def test_the_websocket_position_carries_the_seq_of_its_execution(
    sim: SimulatorHandle, rest: Any
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await authed(socket, ["execution", "position"])
        await sweep_two_levels(sim, rest)
        seen: dict[str, list[int]] = {"execution": [], "position": []}
        while not (seen["execution"] and seen["position"]):
            message = json.loads(await asyncio.wait_for(socket.receive_str(), TIMEOUT))
            seen[message["topic"]] += [int(item["seq"]) for item in message["data"]]
    assert set(seen["position"]) == set(seen["execution"])
    assert await rest_position_seq(rest) == seen["execution"][-1]


async def test_the_sequence_keeps_rising_across_a_restart(rest_class: Any) -> None:
    last_seqs = []
    for sweeps in (3, 1):  # more matches before the restart than after it
        async with running_simulator(simulator_settings()) as sim:
            for _ in range(sweeps):
                executions = await sweep_two_levels(sim, rest_class(sim.rest_url))
            last_seqs.append(executions[-1]["seq"])
    assert last_seqs[1] > last_seqs[0]

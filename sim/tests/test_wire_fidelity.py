"""Wire answers no client library exercises: missing auth headers, a subscribe that mixes the
all-in-one and categorised forms of a private topic, and `python -m mm_sim --help`."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from mm_sim.testing import SimulatorHandle

from .test_private_ws import auth_args, receive


async def test_missing_auth_headers_answer_http_401_with_bybits_text(sim: SimulatorHandle) -> None:
    url = f"{sim.rest_url}/v5/order/realtime?category=linear&symbol=BTCUSDT"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    assert response.status == 401
    assert body["retCode"] == 10001
    assert "apiKey[]" in body["retMsg"]
    assert body["retMsg"].endswith("openapi sign params error!")


async def test_private_subscribe_refuses_all_in_one_and_categorised_topics_together(
    sim: SimulatorHandle,
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_private_url) as socket:
        await socket.send_json({"op": "auth", "args": auth_args()})
        assert (await receive(socket))["success"] is True
        await socket.send_json(
            {"req_id": "s1", "op": "subscribe", "args": ["order", "order.linear"]}
        )
        refused = await receive(socket)
        assert (refused["success"], refused["op"]) == (False, "subscribe")
        assert "order.linear" in refused["ret_msg"]
        await socket.send_json({"req_id": "s2", "op": "subscribe", "args": ["order", "execution"]})
        assert (await receive(socket))["success"] is True


async def test_help_prints_usage_and_exits_without_serving() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mm_sim",
        "--help",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert b"usage: python -m mm_sim" in out
    assert b"MM_SIM_" in out

"""Wire answers no client library exercises: missing auth headers, a subscribe that mixes the
all-in-one and categorised forms of a private topic, `python -m mm_sim --help`, and bad
paging, filter and leverage values (each a 10001, never a crash)."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest

from mm_sim.testing import SimulatorHandle

from .conftest import Rest
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


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "limit": "0"}),
        ("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "limit": "x"}),
        ("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "cursor": "ZXhlYzox"}),
        ("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "openOnly": "7"}),
        ("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "orderFilter": "X"}),
        ("/v5/order/history", {"category": "linear", "startTime": "soon"}),
        ("/v5/order/history", {"category": "linear", "startTime": "5", "endTime": "4"}),
        ("/v5/order/history", {"category": "inverse"}),
        ("/v5/execution/list", {"category": "linear", "execType": "Gift"}),
        ("/v5/execution/list", {"category": "linear", "cursor": "%%%"}),
        ("/v5/position/closed-pnl", {"category": "spot"}),
        ("/v5/position/closed-pnl", {"category": "linear", "symbol": "NOPEUSDT"}),
    ],
)
async def test_bad_paging_and_filter_values_are_parameter_errors(
    rest: Rest, path: str, params: dict[str, str]
) -> None:
    answer = await rest.get(path, params)
    assert (rest.last_status, answer["retCode"]) == (200, 10001), answer
    assert answer["retMsg"].startswith("params error:")


@pytest.mark.parametrize(
    "body",
    [
        {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "NaN", "sellLeverage": "NaN"},
        {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": True, "sellLeverage": True},
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "buyLeverage": "1.005",
            "sellLeverage": "1.005",
        },
        {"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "101", "sellLeverage": "101"},
        {"category": "linear", "symbol": "NOPEUSDT", "buyLeverage": "5", "sellLeverage": "5"},
        {"category": "spot", "symbol": "BTCUSDT", "buyLeverage": "5", "sellLeverage": "5"},
    ],
)
async def test_bad_leverage_requests_are_parameter_errors(
    rest: Rest, body: dict[str, object]
) -> None:
    answer = await rest.post("/v5/position/set-leverage", body)
    assert (rest.last_status, answer["retCode"]) == (200, 10001), answer

"""`python -m mm_sim` as a real process: env settings, keys from a file, real-time market steps."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mm_runtime.testing import free_port


@pytest.fixture
async def live_sim(tmp_path: Path) -> AsyncIterator[str]:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"key": "file-key", "secret": "file-secret", "uid": 2002}]))
    port = free_port()
    env = os.environ | {
        "MM_SIM_PORT": str(port),
        "MM_SIM_API_KEYS_FILE": str(keys),
        "MM_SIM_MARKET__STEP_INTERVAL_MS": "20",
        "MM_SIM_MAKER_FEE_RATE": "-0.00005",
        "MM_SIM_ADMIN_OPEN": "true",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mm_sim",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"{base}/v5/market/time") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        yield base
    finally:
        process.terminate()
        await process.wait()


async def test_live_process_steps_the_market_and_uses_file_keys(
    live_sim: str, rest_class: Any
) -> None:
    async with aiohttp.ClientSession() as session:
        first = await (
            await session.get(f"{live_sim}/sim/admin/book", params={"symbol": "BTCUSDT"})
        ).json()
        book = first
        for _ in range(200):
            book = await (
                await session.get(f"{live_sim}/sim/admin/book", params={"symbol": "BTCUSDT"})
            ).json()
            if book["u"] > first["u"] + 3:
                break
            await asyncio.sleep(0.05)
        assert book["u"] > first["u"] + 3
    default_key = rest_class(live_sim)
    assert (
        await default_key.get("/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
    )["retCode"] == 10003
    file_key = rest_class(live_sim, key="file-key", secret="file-secret")
    fee = await file_key.get("/v5/account/fee-rate", {"category": "linear", "symbol": "BTCUSDT"})
    assert fee["result"]["list"][0]["makerFeeRate"] == "-0.00005"

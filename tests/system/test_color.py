"""A color set on the quoter reaches the venue and the ledger: quoter config -> QuoteIntent.color
-> risk's OrderTarget.color -> the executor's orderLinkId -> the venue's fill -> the KPI row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.kpi_store import read_range
from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_proto import ConfigSetRequest, CtlReply, decode, encode, subjects
from mm_runtime.testing import eventually
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
ENV = {
    **TRADING_ENV,
    "ledger": {"LEDGER_SNAPSHOT_INTERVAL_S": "1", "LEDGER_REORDER_HOLD_MS": "500"},
}


async def _green_fills_at_the_venue(api: BybitRestApi) -> list[Any]:
    rows = await api.executions("linear")
    return [r for r in rows if r.exec_type == "Trade" and r.order_link_id.endswith("_green")]


async def _green_kpi_fills(running: RunningStack) -> int:
    js = running.client.jetstream()
    info = await js.stream_info(subjects.KPI_STREAM)
    rows = [row for _, row in await read_range(js, info.state.first_seq, info.state.last_seq)]
    return sum(row.fills for row in rows if row.color == "green")


@pytest.mark.timeout(300)
async def test_a_color_set_on_the_quoter_reaches_the_venues_fills_and_the_kpi_rows(
    tmp_path: Path,
) -> None:
    running = await start_stack(tmp_path / "run", env=ENV)
    key, secret = running.stack.credentials()
    rest = RestClient(running.stack.layout.sim_url, ApiCredentials(api_key=key, api_secret=secret))
    try:
        refused = ConfigSetRequest(key="quoter.default", value=json.dumps({"color": "Green!"}))
        reply = await _config_set(running, refused)
        assert not reply.ok
        assert "color" in reply.message
        reply = await _config_set(
            running, ConfigSetRequest(key="quoter.default", value=json.dumps({"color": "green"}))
        )
        assert reply.ok, reply.message
        api = BybitRestApi(rest)
        await eventually(lambda: _green_fills_at_the_venue(api), timeout=120, message="green fill")
        await eventually(lambda: _green_kpi_fills(running), timeout=60, message="green KPI row")
    finally:
        await rest.aclose()
        await stop_stack(running)


async def _config_set(running: RunningStack, request: ConfigSetRequest) -> CtlReply:
    reply = await running.client.request(
        subjects.ctl("quoter", "config-set"), encode(request), timeout=5
    )
    return decode(reply.data, CtlReply)

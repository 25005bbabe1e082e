"""The ledger against the venue: the local stack trades on the simulator (informed and uninformed
flow, funding every few seconds), the ledger is SIGKILLed mid-run, and afterwards its net PnL
equals the venue's equity change to the last unit, its fees the venue's, and its components sum
to its net.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.replay import read_stream
from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.rest import RestClient
from mm_cli.report_command import read_snapshots
from mm_cli.report_window import Window
from mm_proto import Fill, HaltRequest, decode, encode, subjects
from mm_runtime.testing import eventually
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
INITIAL_USDT = Decimal("100000")  # the simulator's starting wallet
MIN_FILLS = 6
ENV = {
    **TRADING_ENV,
    "sim": {**TRADING_ENV["sim"], "MM_SIM_FUNDING_INTERVAL_MS": "8000"},
    # Acks wait for the snapshot; a killed ledger's unacked facts come again after 6 s. A short
    # reorder hold: the agreeing read below needs the ledger's released mark to be the venue's
    # current one, i.e. a mid unchanged for the hold; with the 2 s default a loaded machine
    # rarely sees such a moment within the wait.
    "ledger": {
        "LEDGER_REORDER_HOLD_MS": "250",
        "LEDGER_SNAPSHOT_INTERVAL_S": "2",
        "LEDGER_EXEC_ACK_WAIT_S": "6",
        "LEDGER_MARKOUT_HORIZONS_S": "[1, 3]",
    },
}


def _sum(status: dict[str, str], figure: str) -> Decimal:
    return sum(
        (Decimal(value) for key, value in status.items() if key.endswith(f".{figure}")),
        Decimal(0),
    )


async def _venue(
    api: BybitRestApi,
) -> tuple[Decimal, dict[str, Decimal], Decimal, Decimal, int]:
    """(equity change, mark by symbol holding a position, venue fees, venue funding, fills)."""
    [wallet] = await api.wallet_balance()
    [usdt] = [coin for coin in wallet.coin if coin.coin == "USDT"]
    positions = await api.positions("linear", None)
    marks = {p.symbol: Decimal(p.mark_price) for p in positions if Decimal(p.size or "0")}
    unrealised = sum((Decimal(p.unrealised_pnl or "0") for p in positions), Decimal(0))
    rows = await api.executions("linear")
    fees = sum((Decimal(r.exec_fee) for r in rows if r.exec_type == "Trade"), Decimal(0))
    funding = sum((Decimal(r.exec_fee) for r in rows if r.exec_type == "Funding"), Decimal(0))
    trades = sum(1 for r in rows if r.exec_type == "Trade")
    return Decimal(usdt.wallet_balance) + unrealised - INITIAL_USDT, marks, fees, funding, trades


async def _agreeing_read(running: RunningStack, api: BybitRestApi) -> tuple[Any, ...] | None:
    """Ledger and venue read around one instant at which the ledger marks at the venue's mark
    and has applied every fill the venue made: the executor has stored one fill fact per venue
    fill in EXEC, the ledger's flushed cut covers the last of them, and no fact waits behind its
    reorder hold. (With the orders cancelled, the last fill can still be on its way from the
    venue through the executor to the ledger; a read then would find a fill missing.)"""
    before = await running.status("ledger")
    venue = await _venue(api)
    fills = await read_stream(
        running.client.jetstream(), subjects.EXEC_STREAM, subjects.exec_fill_pattern()
    )
    after = await running.status("ledger")
    marks = venue[1]
    if (
        after is None
        or before != after
        or after.get("held_facts") != "0"
        or len({decode(f.data, Fill).fill_id for f in fills}) != venue[4]
        or (fills and int(after.get("exec_sequence", "0")) < fills[-1].sequence)
        or any(after.get(f"{s}.mid") != str(m.normalize()) for s, m in marks.items())
    ):
        return None
    if any(Decimal(after.get(f"{s}.mid", "0")) != m for s, m in marks.items()):
        return None
    return after, venue


@pytest.mark.timeout(420)
async def test_the_ledgers_net_is_the_venues_equity_change_through_a_sigkill(
    tmp_path: Path,
) -> None:
    running = await start_stack(tmp_path / "run", env=ENV)
    key, secret = running.stack.credentials()
    rest = RestClient(running.stack.layout.sim_url, ApiCredentials(api_key=key, api_secret=secret))
    api = BybitRestApi(rest)
    try:

        async def fills() -> int:
            rows = await api.executions("linear")
            return sum(1 for r in rows if r.exec_type == "Trade")

        await eventually(lambda: _at_least(fills, MIN_FILLS // 2), timeout=120, message="fills")
        running.stack.kill("ledger")  # SIGKILL mid-run; the supervisor starts it again
        await eventually(lambda: _at_least(fills, MIN_FILLS), timeout=120, message="more fills")
        funding_rows = await eventually(lambda: _funding(api), timeout=60, message="funding")
        assert funding_rows
        await running.client.request(
            subjects.ctl("risk", "halt"),
            encode(HaltRequest(reason="reconcile", operator="test")),
            timeout=5,
        )
        await eventually(lambda: _no_orders(api), timeout=30, message="orders cancelled")
        status, venue = await eventually(
            lambda: _agreeing_read(running, api), timeout=120, message="ledger marks at the mark"
        )
        equity_change, _, venue_fees, venue_funding, _ = venue
        print(status, venue)
        assert _sum(status, "fees") == -venue_fees
        assert _sum(status, "funding") == -venue_funding
        assert _sum(status, "net") == equity_change
        parts = sum(
            (_sum(status, part) for part in ("spread", "fees", "inventory", "funding")), Decimal(0)
        )
        assert parts == _sum(status, "net")
        await asyncio.sleep(3)  # a snapshot or two more
        snapshots = await read_snapshots(
            running.stack.layout.nats_url,
            running.stack.layout.operator_auth(),
            Window(0, 2**62),
        )
        booked = sum(s.fills for s in snapshots)
        assert booked == await fills()  # every fill once, through the SIGKILL
        measured = sum(s.markout_fills.get("1s", 0) for s in snapshots)
        assert 0 < measured <= booked
    finally:
        await rest.aclose()
        await stop_stack(running)


async def _at_least(count: Any, minimum: int) -> bool:
    return await count() >= minimum


async def _funding(api: BybitRestApi) -> list[Any]:
    return [r for r in await api.executions("linear") if r.exec_type == "Funding"]


async def _no_orders(api: BybitRestApi) -> bool:
    return not await api.open_orders("linear")

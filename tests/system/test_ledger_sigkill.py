"""SIGKILL of the ledger mid-run changes no figure.

The local stack trades on the simulator; the ledger is SIGKILLed (twice) and the supervisor
starts it again. Afterwards the sum of its stored KPI rows (net and its components, fees,
markouts at each horizon, fills, presence and depth time) equals a reference core fed the same
stored inputs (streams MARKS and EXEC, read back from the bus) without interruption, exactly,
and every fill older than the longest horizon has its markouts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ledger.kpi_store import read_range
from ledger.replay import read_stream, reference, totals
from mm_proto import (
    HaltRequest,
    InstrumentDefinition,
    KpiSnapshot,
    decode,
    encode,
    subjects,
)
from mm_runtime.testing import eventually
from mm_soak.running import RunningStack, start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.beside_others]
HORIZONS = (1.0, 3.0)
ENV = {
    **TRADING_ENV,
    "ledger": {
        "LEDGER_SNAPSHOT_INTERVAL_S": "2",
        "LEDGER_EXEC_ACK_WAIT_S": "6",
        "LEDGER_MARKOUT_HORIZONS_S": "[1, 3]",
        # The default hold. A fact that reaches the ledger more than the hold after a newer mark
        # is applied late (counted as `late_inputs`), in another order than the reference's, and
        # two stacks side by side under coverage delayed one past a 1 s hold.
        "LEDGER_REORDER_HOLD_MS": "2000",
    },
}


async def _rows(running: RunningStack) -> list[KpiSnapshot]:
    js = running.client.jetstream()
    info = await js.stream_info(subjects.KPI_STREAM)
    return [row for _, row in await read_range(js, info.state.first_seq, info.state.last_seq)]


async def _fills(running: RunningStack) -> int:
    return sum(row.fills for row in await _rows(running))


async def _at_least(running: RunningStack, minimum: int) -> bool:
    return await _fills(running) >= minimum


async def _settled(running: RunningStack, fills: int) -> bool:
    """Every venue fill is booked and has its markout at each horizon stored."""
    rows = await _rows(running)
    booked = sum(row.fills for row in rows)
    return booked == fills and all(
        sum(row.markout_fills.get(horizon, 0) for row in rows) == booked for horizon in ("1s", "3s")
    )


async def _no_orders(running: RunningStack) -> bool:
    return await running.audit.open_order_count() == 0


@pytest.mark.timeout(420)
async def test_sigkill_of_the_ledger_mid_run_changes_no_figure(tmp_path: Path) -> None:
    running = await start_stack(tmp_path / "run", env=ENV)
    try:
        for minimum in (4, 8):
            await eventually(lambda m=minimum: _at_least(running, m), timeout=120, message="fills")
            killed = running.stack.kill("ledger")  # the supervisor starts it again
            await eventually(
                lambda k=killed: running.stack.pids().get("ledger") not in (None, k),
                timeout=30,
                message="the ledger restarted",
            )
        await eventually(lambda: _at_least(running, 12), timeout=120, message="more fills")
        await running.client.request(
            subjects.ctl("risk", "halt"), encode(HaltRequest(reason="t", operator="t")), timeout=5
        )
        # Orders still resting when risk halts can fill until the executor's cancels land; the
        # count to settle on is the venue's once nothing rests.
        await eventually(lambda: _no_orders(running), timeout=30, message="orders cancelled")
        fills = len(await running.audit.venue_fills())
        await eventually(lambda: _settled(running, fills), timeout=60, message="markouts")

        js = running.client.jetstream()
        symbols = list(running.stack.options.symbols)
        bucket = await js.key_value(subjects.INSTRUMENT_BUCKET)
        instruments = {
            symbol: decode(
                (await bucket.get(subjects.instrument_key("bybit", "linear", symbol))).value or b"",
                InstrumentDefinition,
            )
            for symbol in symbols
        }
        # The ledger goes on flushing (a position still accrues time), so the comparison stops at
        # one flush: the one before the newest stored, which is whole (the newest may be being
        # stored now) and, two intervals after the settling, includes every fill and markout.
        await asyncio.sleep(5)
        rows = await _rows(running)
        cut = sorted({row.ts_end_ns for row in rows})[-2]
        newest = [row for row in rows if row.ts_end_ns == cut and row.side == "all"]
        marks = await read_stream(js, subjects.MARKS_STREAM, subjects.mark_pattern())
        facts = await read_stream(js, subjects.EXEC_STREAM, subjects.domain_pattern("exec"))
        booked = totals(row for row in rows if row.ts_end_ns <= cut)
        expected = totals(reference(instruments.values(), HORIZONS, marks, facts, newest))
        if booked != expected:
            status = await running.status("ledger")
            late = status.get("late_inputs") if status else "unknown (no answer)"
            raise AssertionError(
                f"booked {booked} != reference {expected}; inputs applied late by the "
                f"ledger's current life: {late}"
            )
        assert _sum(booked, "fills") >= 12
        assert _sum(booked, "observed_nanos") > 0
        assert _sum(booked, "depth_10bps_lot_nanos") > 0
        for horizon in ("1s", "3s"):
            assert _by_horizon(booked, "markout_fills", horizon) == _sum(booked, "fills")
        assert all(row.resume_state for row in newest)
    finally:
        await stop_stack(running)


def _sum(booked: dict[Any, dict[str, Any]], figure: str) -> Any:
    return sum(value.get(figure, 0) for value in booked.values())


def _by_horizon(booked: dict[Any, dict[str, Any]], figure: str, horizon: str) -> Any:
    return sum(value.get(figure, {}).get(horizon, 0) for value in booked.values())

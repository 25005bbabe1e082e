"""Fidelity: one short recording through the whole stack (the simulator replaying it) and through
`mm backtest` gives the same fills and net PnL within the issue's bounds (5 % and 10 %).

The simulator replays the recording one frame per admin step (the backtest starts at the frame
the stack placed its first order on). The test steps every 0.25 s, the recording's own frame
interval (the stack's clocks are the wall's: quote ages, estimator decay), and far longer than the
stack takes to react, so its quotes are in place before each frame, as the backtest's are with
its small latencies (2 ms feed, 5 ms order). With reaction times near the frame interval the
two diverge by design (docs/backtesting.md, "Fidelity").
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mm_backtest.engine import Backtest
from mm_backtest.latency import constant_ms
from mm_backtest.params import parse_params
from mm_backtest.synthetic import write_recording
from mm_orderbook import OrderBook
from mm_proto import Side
from mm_sim.settings import InstrumentConfig, SimSettings
from mm_sim.testing import Admin
from mm_soak.running import start_stack, stop_stack
from mm_soak.stack import TRADING_ENV

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]
STEP_GAP_S = 0.25  # = the recording's frame interval, so both runs see the same time scale
QUOTER = {"min_spread_bps": 0.01, "k_vola_spread": 0, "refresh_price_ticks": 2}


def _btcusdt() -> InstrumentConfig:
    return next(
        c for c in SimSettings().instruments if c.symbol == "BTCUSDT" and c.category == "linear"
    )


def _recording(tmp_path: Path) -> Path:
    out = tmp_path / "recording"
    write_recording(out, [_btcusdt()], 25, 4, seed=11, volatility_ticks=3, trade_size_lots=400)
    [path] = out.rglob("*.jsonl")
    return path


def _book_times(recording: Path) -> list[int]:
    """Venue time (ns) of each book frame, in order."""
    return [
        json.loads(line)["ts"] * 1_000_000
        for line in recording.read_text().splitlines()
        if '"topic":"orderbook.' in line
    ]


def _final_mid(recording: Path) -> Decimal:
    """The recording's last mid, from the gateway's book (both runs end on it)."""
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    for line in recording.read_bytes().splitlines():
        if b'"topic":"orderbook.' in line:
            book.apply_frame(line)
    assert book.best_bid is not None
    assert book.best_ask is not None
    return (Decimal(book.best_bid[0]) + book.best_ask[0]) / 20


def _net(fills: list[tuple[bool, Decimal, Decimal, Decimal]], recording: Path) -> Decimal:
    """Cash from the fills, minus fees, plus what is held at the final mid: net PnL, computed
    the same way for both runs (the ledger's net telescopes to this, docs/economics.md)."""
    cash = sum(
        (qty * price * (-1 if buy else 1) - fee for buy, qty, price, fee in fills), Decimal(0)
    )
    held = sum((qty if buy else -qty for buy, qty, _, _ in fills), Decimal(0))
    return cash + held * _final_mid(recording)


async def _stack_run(tmp_path: Path, recording: Path) -> tuple[Decimal, int, int]:
    """(fills, net PnL) of the whole stack over the recording, stepped frame by frame."""
    env: dict[str, dict[str, str]] = {
        "sim": {
            **TRADING_ENV["sim"],
            "MM_SIM_REPLAY_FILE": str(recording),
            "MM_SIM_MARKET__AUTO_STEP": "false",
        },
        "quoter": {
            **TRADING_ENV["quoter"],
            **{f"QUOTER_PARAMS__{key.upper()}": str(value) for key, value in QUOTER.items()},
        },
    }
    running = await start_stack(tmp_path / "run", env=env, symbols=("BTCUSDT",))
    try:
        layout = running.stack.layout
        admin = Admin(layout.sim_url, layout.sim_admin_token_file.read_text().strip())
        times = _book_times(recording)
        # The stack quotes only on a live feed: step until its first order, then the rest.
        warm_up = 0
        for _ in times[1:]:
            await admin.step(1)
            await asyncio.sleep(STEP_GAP_S)
            if not running.watch.activity_at:
                warm_up += 1
        assert warm_up < len(times) // 3, f"the stack placed no order for {warm_up} frames"
        executions = (await admin.executions(1001))["list"]
        trades = [row for row in executions if row.get("execType") == "Trade"]

        return (
            _net(
                [
                    (
                        r["side"] == "Buy",
                        Decimal(r["execQty"]),
                        Decimal(r["execPrice"]),
                        Decimal(r["execFee"]),
                    )
                    for r in trades
                ],
                recording,
            ),
            len(trades),
            warm_up,
        )
    finally:
        await stop_stack(running)


def _backtest(recording: Path, start_ns: int) -> tuple[Decimal, int]:
    document: dict[str, Any] = {
        "instruments": [_btcusdt().model_dump(mode="json")],
        "quoter": QUOTER,
        "venue": {
            "maker_fee_rate": TRADING_ENV["sim"]["MM_SIM_MAKER_FEE_RATE"],
            "initial_balances": {"USDT": "100000", "BTC": "1"},
        },
        "feed": "venue",
    }
    window = (start_ns, None)
    result = Backtest(
        parse_params(document), [recording], constant_ms(2), constant_ms(5), window
    ).run()
    grid = Decimal("0.10"), Decimal("0.001")
    fills = [
        (f.side is Side.BUY, f.size_lots * grid[1], f.price_ticks * grid[0], Decimal(f.fee))
        for f in result.fills
    ]
    return _net(fills, recording), len(result.fills)


async def test_the_stack_and_the_backtest_fill_alike_on_the_same_recording(
    tmp_path: Path,
) -> None:
    recording = _recording(tmp_path)
    stack_net, stack_fills, warm_up = await _stack_run(tmp_path, recording)
    # The stack's first order answered frame `warm_up` (0 = the starting book).
    backtest_net, backtest_fills = _backtest(recording, _book_times(recording)[warm_up])
    figures = json.dumps(
        {"stack": [stack_fills, str(stack_net)], "backtest": [backtest_fills, str(backtest_net)]}
    )
    assert backtest_fills >= 20, figures
    assert abs(stack_fills - backtest_fills) <= 0.05 * stack_fills, figures
    assert abs(stack_net - backtest_net) <= abs(stack_net) * Decimal("0.10"), figures

"""The live view fits an 80-column terminal without cutting figures short."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rich.console import Console

from mm_cli.local_stack import StackLayout, build_stack
from mm_cli.market_watch import MarketWatch
from mm_cli.status_view import render
from mm_cli.supervisor import Child
from mm_proto import Position
from mm_proto.examples import example_instrument


def test_every_line_fits_80_columns_and_no_figure_is_elided(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path)
    children = [Child(spec) for spec in build_stack(layout)]
    watch = MarketWatch("bybit", "linear", ("BTCUSDT", "ETHUSDT"))
    view = watch.views["BTCUSDT"]
    view.instrument = example_instrument()
    view.best_bid_ticks, view.best_ask_ticks = 6_000_041, 6_000_043
    view.quoting, view.our_bid_ticks, view.our_ask_ticks = True, 6_000_035, 6_000_049
    view.position = Position(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        size_lots=-12,
        entry_price="60000.4",
        realized_pnl="-12.3456",
        unrealized_pnl="0.5",
        ts_exchange_ns=1,
    )
    view.fills, view.rebates = 12345, view.rebates + Decimal("12.3456")
    console = Console(width=80, record=True, color_system=None)
    console.print(render(children, layout, {"quoter": "ok"}, watch))
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    assert "12345" in text


def test_the_ledgers_split_and_markout_show_per_symbol_and_in_total(tmp_path: Path) -> None:
    layout = StackLayout(run_dir=tmp_path)
    watch = MarketWatch("bybit", "linear", ("BTCUSDT", "ETHUSDT"))
    for symbol, net, spread in (("BTCUSDT", 1.25, 0.5), ("ETHUSDT", -0.25, 0.125)):
        for component, value in (
            ("net", net),
            ("spread", spread),
            ("fees", 1.0),
            ("inventory", net - spread - 1.0),
            ("funding", 0.0),
        ):
            key = f"ledger_pnl_quote{{color=blue,component={component},symbol={symbol}}}"
            watch.metrics[key] = value
    watch.metrics["ledger_markout_bps{color=blue,horizon=10s,side=buy,symbol=BTCUSDT}"] = -0.75
    console = Console(width=80, record=True, color_system=None)
    console.print(render([], layout, {}, watch))
    lines = console.export_text().splitlines()
    [btc] = [line for line in lines if line.startswith("BTCUSDT  net")]
    assert "net+1.250 spr+0.500 reb+1.000 inv-0.250 fund+0.000" in btc
    assert btc.endswith("mo10s b-0.8")
    [total] = [line for line in lines if line.startswith("total")]
    assert "net+1.000 spr+0.625 reb+2.000 inv-1.625" in total
    assert all(len(line) <= 80 for line in lines)

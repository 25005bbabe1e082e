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

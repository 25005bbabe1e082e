"""The live terminal view of a running local stack, sized for an 80-column terminal, and the same
facts as plain lines for `mm run --headless`: per symbol why quotes are pulled (the quoter's
reason), risk's halt and its reason, and each process's readiness (`/readyz`)."""

from __future__ import annotations

import time

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from mm_cli.local_stack import StackLayout
from mm_cli.market_watch import UNKNOWN, MarketWatch, SymbolView, histogram_quantile
from mm_cli.supervisor import Child, ChildState

_STATE_STYLE = {
    ChildState.RUNNING: "green",
    ChildState.STARTING: "yellow",
    ChildState.BACKING_OFF: "red",
    ChildState.STOPPING: "yellow",
    ChildState.STOPPED: "dim",
}
TICK_TO_QUOTE = "quoter_tick_to_quote_seconds"
TICK_TO_ORDER = "mm_executor_tick_to_order_seconds"
COVERAGE = "quoter_obligation_coverage_ratio"
HEALTH_WIDTH = 25
# The quoter's pull reasons, short enough for the markets table.
_SHORT_REASONS = {"outside_window": "window", "no_instrument": "no grid", "not_trading": "closed"}
LEDGER_PNL = "ledger_pnl_quote"
LEDGER_MARKOUT = "ledger_markout_bps"
_PARTS = ("net", "spread", "fees", "inventory", "funding")
# Short labels so that a symbol's line fits 80 columns; "reb" is the fee component (rebates net of
# fees paid), positive when the rebates win.
_LABELS = {"net": "net", "spread": "spr", "fees": "reb", "inventory": "inv", "funding": "fund"}


def render(
    children: list[Child], layout: StackLayout, health: dict[str, str], watch: MarketWatch
) -> Group:
    """Markets first, then latency and obligations, then the processes and where things live."""
    return Group(
        _halt_line(watch),
        _markets(watch),
        _economics(watch),
        _latency_line(watch),
        _processes(children, health),
        Text(
            f"NATS {layout.nats_url}  simulator {layout.sim_url}\n"
            f"logs {layout.log_dir}/<process>.log  metrics http://127.0.0.1:<port>/metrics\n"
            "Ctrl-C stops everything.",
            style="dim",
        ),
    )


def _markets(watch: MarketWatch) -> Table:
    table = Table(
        title="markets",
        title_justify="left",
        pad_edge=False,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    for name, justify in (
        ("symbol", "left"),
        ("mid", "right"),
        ("our bid", "right"),
        ("our ask", "right"),
        ("bps", "right"),
        ("inv", "right"),
        ("pnl", "right"),
        ("fills", "right"),
        ("rebate", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True, min_width=len(name))  # type: ignore[arg-type]
    for symbol, view in watch.views.items():
        quoting = view.quoting
        reason = _pull_reason(view, watch)
        table.add_row(
            symbol,
            view.mid,
            view.price(view.our_bid_ticks) if quoting else Text("pulled", style="yellow"),
            view.price(view.our_ask_ticks)
            if quoting
            else Text(_SHORT_REASONS.get(reason, reason), style="yellow"),
            view.spread_bps,
            view.inventory,
            Text(f"{view.pnl:.2f}", style="green" if view.pnl >= 0 else "red"),
            str(view.fills),
            f"{view.rebates:.4f}",
        )
    return table


def _pull_reason(view: SymbolView, watch: MarketWatch) -> str:
    """Why this symbol has no quotes: the quoter's reason, else risk's halt, else unknown."""
    if view.pull_reason and view.pull_reason != UNKNOWN:
        return view.pull_reason
    if watch.halt and watch.halt != UNKNOWN:
        return "halted"
    return view.pull_reason or "-"


def _halt_line(watch: MarketWatch) -> Text:
    if watch.halt == UNKNOWN:
        return Text("risk: status unknown (not answering)", style="yellow")
    if watch.halt:
        return Text(f"HALTED {watch.halt}", style="bold red")
    return Text("risk: trading", style="green")


def headless_lines(children: list[Child], health: dict[str, str], watch: MarketWatch) -> list[str]:
    """The view as plain lines, one per symbol and process, for `mm run --headless`."""
    halt = f"halted {watch.halt}" if watch.halt not in ("", UNKNOWN) else watch.halt or "trading"
    lines = [f"risk: {halt}"]
    for symbol, view in watch.views.items():
        quotes = (
            f"bid {view.price(view.our_bid_ticks)} ask {view.price(view.our_ask_ticks)}"
            if view.quoting
            else f"pulled ({_pull_reason(view, watch)})"
        )
        lines.append(
            f"{symbol}: mid {view.mid} {quotes} inv {view.inventory} "
            f"pnl {view.pnl:.2f} fills {view.fills}"
        )
    for child in children:
        readiness = health.get(child.spec.name, "-")
        lines.append(f"{child.spec.name}: {child.state.value} {readiness}")
    return lines


def _economics(watch: MarketWatch) -> Text:
    """Per symbol and in total, the ledger's net PnL split into spread, rebate and inventory, and
    the 10 s markout (from the ledger's metrics, refreshed at each of its snapshots)."""
    figures: dict[str, dict[str, float]] = {}
    for key, value in watch.metrics.items():
        name, _, labels = key.partition("{")
        tags = dict(part.split("=", 1) for part in labels.rstrip("}").split(",") if "=" in part)
        symbol = tags.get("symbol", "")
        if name == LEDGER_PNL:
            row = figures.setdefault(symbol, {})
            row[tags["component"]] = row.get(tags["component"], 0.0) + value
        elif name == LEDGER_MARKOUT and tags.get("horizon") == "10s":
            figures.setdefault(symbol, {})[f"mo_{tags['side']}"] = value
    if not figures:
        return Text("economics: waiting for the ledger's first snapshot", style="dim")
    lines = []
    total = {part: sum(row.get(part, 0.0) for row in figures.values()) for part in _PARTS}
    for symbol, row in [*sorted(figures.items()), ("total", total)]:
        split = " ".join(f"{label}{row.get(part, 0.0):+.3f}" for part, label in _LABELS.items())
        markout = " ".join(
            f"{side[0]}{row[f'mo_{side}']:+.1f}" for side in ("buy", "sell") if f"mo_{side}" in row
        )
        lines.append(f"{symbol:<8} {split}" + (f" mo10s {markout}" if markout else ""))
    return Text("\n".join(lines), style="magenta")


def _latency_line(watch: MarketWatch) -> Text:
    parts = []
    for label, name in (("tick→quote", TICK_TO_QUOTE), ("tick→order", TICK_TO_ORDER)):
        p50 = histogram_quantile(watch.metrics, name, 0.5)
        p99 = histogram_quantile(watch.metrics, name, 0.99)
        if p50 is not None and p99 is not None:
            parts.append(f"{label} p50≤{p50 * 1e3:g}ms p99≤{p99 * 1e3:g}ms")
    coverage = [
        f"{key.split('symbol=')[-1].rstrip('}').split(',')[0]} {value:.0%}"
        for key, value in sorted(watch.metrics.items())
        if key.startswith(COVERAGE + "{")
    ]
    if coverage:
        parts.append("obligation " + " ".join(coverage))
    return Text("  ".join(parts) or "waiting for the first quotes", style="cyan")


def _processes(children: list[Child], health: dict[str, str]) -> Table:
    table = Table(
        title="processes",
        title_justify="left",
        pad_edge=False,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    for name, justify in (
        ("process", "left"),
        ("state", "left"),
        ("pid", "right"),
        ("up", "right"),
        ("restarts", "right"),
        ("health", "left"),
        ("port", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True, min_width=len(name))  # type: ignore[arg-type]
    now = time.monotonic()
    for child in children:
        running = child.state is ChildState.RUNNING
        table.add_row(
            child.spec.name,
            Text(child.state.value, style=_STATE_STYLE[child.state]),
            str(child.pid or "-"),
            _duration(now - child.started_at) if running else "-",
            str(child.restarts),
            health.get(child.spec.name, "-")[:HEALTH_WIDTH],
            str(child.spec.http_port or "-"),
        )
    return table


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"

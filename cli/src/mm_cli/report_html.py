"""`mm report --html`: one self-contained page (inline SVG plots, no network) of a report.

Plots: cumulative net PnL split by component, inventory over time, markout curves per side (from
the fill, where it is the spread captured, to the longest horizon), presence and depth per window,
rejects by reason. Each plot is an inline `<svg>` inside a `<figure id="...">`, so the page opens
anywhere and a test can find each.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.report import markouts
from mm_cli.inline_svg import svg
from mm_proto import KpiSnapshot

if TYPE_CHECKING:  # matplotlib itself loads on the first drawing (`mm_cli.inline_svg`)
    from matplotlib.axes import Axes

_FIELDS = {
    "spread": "spread_pnl",
    "fees": "fee_pnl",
    "inventory": "inventory_pnl",
    "funding": "funding_pnl",
    "net": "net_pnl",
}
PLOTS = ("pnl", "inventory", "markouts", "presence", "rejects")
_HEIGHT_IN = 3.2  # inches; the weekly and pre-live pages draw theirs 3.0 high


def _times(snapshots: list[KpiSnapshot]) -> list[int]:
    return sorted({s.ts_end_ns for s in snapshots})


def _minutes(times: list[int]) -> list[float]:
    return [(t - times[0]) / 60e9 for t in times] if times else []


def _pnl(snapshots: list[KpiSnapshot]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        times = _times(snapshots)
        for component, field in _FIELDS.items():
            running, series = Decimal(0), []
            for moment in times:
                running += sum(
                    (Decimal(getattr(s, field)) for s in snapshots if s.ts_end_ns == moment),
                    Decimal(0),
                )
                series.append(float(running))
            axes.plot(
                _minutes(times), series, label=component, linewidth=2 if component == "net" else 1
            )
        axes.set(title="cumulative PnL by component", xlabel="minutes", ylabel="quote")
        axes.legend(fontsize="small")

    return draw


def _inventory(snapshots: list[KpiSnapshot]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        rows = [s for s in snapshots if s.side == "all"]
        for key in sorted({(s.symbol, s.color) for s in rows}):
            mine = sorted(
                (s for s in rows if (s.symbol, s.color) == key), key=lambda s: s.ts_end_ns
            )
            times = [s.ts_end_ns for s in mine]
            axes.step(_minutes(times), [s.position_lots_end for s in mine], label=" ".join(key))
        axes.set(title="inventory (lots, end of each window)", xlabel="minutes", ylabel="lots")
        axes.legend(fontsize="small")

    return draw


def _markout_curves(snapshots: list[KpiSnapshot]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        for side in ("buy", "sell"):
            rows = [s for s in snapshots if s.side == side]
            curve = markouts(rows)
            # At 0 s the markout is the spread captured against the mid at the fill.
            notional = sum((Decimal(s.notional) for s in rows), Decimal(0))
            spread = sum((Decimal(s.spread_pnl) for s in rows), Decimal(0))
            at_fill = float(spread / notional * 10_000) if notional else 0.0
            horizons = [0.0, *(float(h.rstrip("s")) for h in curve)]
            values = [at_fill, *(row["bps"] for row in curve.values())]
            axes.plot(horizons, values, marker="o", label=side)
        axes.axhline(0, color="grey", linewidth=0.5)
        axes.set(title="markout by horizon (bps, positive good)", xlabel="seconds", ylabel="bps")
        axes.legend(fontsize="small")

    return draw


def _presence(snapshots: list[KpiSnapshot]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        rows = sorted(
            (s for s in snapshots if s.side == "all" and s.observed_nanos),
            key=lambda s: s.ts_end_ns,
        )
        times = [s.ts_end_ns for s in rows]
        axes.plot(
            _minutes(times), [s.two_sided_nanos / s.observed_nanos for s in rows], label="presence"
        )
        depth = axes.twinx()
        depth.plot(
            _minutes(times),
            [s.depth_5bps_lot_nanos / s.observed_nanos for s in rows],
            "g--",
            label="depth 5 bps",
        )
        depth.set_ylabel("lots within 5 bps")
        axes.set(
            title="two-sided presence and depth", xlabel="minutes", ylabel="share", ylim=(0, 1.05)
        )

    return draw


def _rejects(summary: dict[str, Any]) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        counts: dict[str, int] = {}
        for figures in summary["symbols"].values():
            for reason, count in figures["quoting"]["rejects"].items():
                counts[reason] = counts.get(reason, 0) + count
        axes.bar(list(counts) or ["none"], list(counts.values()) or [0])
        axes.set(title="rejects by reason", ylabel="count")

    return draw


def render(summary: dict[str, Any], snapshots: list[KpiSnapshot]) -> str:
    """The page as one string."""
    drawings = {
        "pnl": _pnl(snapshots),
        "inventory": _inventory(snapshots),
        "markouts": _markout_curves(snapshots),
        "presence": _presence(snapshots),
        "rejects": _rejects(summary),
    }
    figures = "\n".join(
        f'<figure id="plot-{name}">{svg(draw, _HEIGHT_IN)}<figcaption>{name}</figcaption></figure>'
        for name, draw in drawings.items()
    )
    data = html.escape(json.dumps(summary, indent=2, sort_keys=True))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>mm report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "figure{margin:1em 0}pre{background:#f4f4f4;padding:1em}</style></head><body>"
        f"<h1>mm report</h1><h2>total</h2><pre>{html.escape(json.dumps(summary['total']))}</pre>"
        f"{figures}<h2>figures</h2><pre id='report-json'>{data}</pre></body></html>"
    )


def write_page(path: Path, summary: dict[str, Any], snapshots: list[KpiSnapshot]) -> None:
    path.write_text(render(summary, snapshots), encoding="utf-8")

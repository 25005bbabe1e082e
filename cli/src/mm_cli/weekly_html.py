"""`mm report --weekly --html FILE`: one self-contained page of a weekly rollup (inline SVG).

Trend plots per symbol over the days: net PnL, presence, fills, worst 10 s markout; then the
per-day table with each day's gate verdict and the checks that did not pass. Each plot is an
inline `<svg>` inside a `<figure id="...">`. A day without data is a gap, never a zero.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes

from mm_cli.inline_svg import svg

TRENDS = ("net", "presence", "fills", "markout_10s")
_TITLES = {
    "net": "net PnL per day (quote)",
    "presence": "two-sided presence per day",
    "fills": "fills per day",
    "markout_10s": "worst 10 s markout per day (bps)",
}


def _figure(symbols: dict[str, Any], trend: str) -> float | None:
    if trend == "net":
        return float(symbols["pnl"]["net"])
    if trend in ("presence", "fills"):
        return float(symbols["quoting"][trend])
    rows = [h["10s"]["bps"] for h in symbols["markouts"].values() if h.get("10s", {}).get("fills")]
    return min(rows) if rows else None


def series(document: dict[str, Any], trend: str) -> dict[str, list[float | None]]:
    """Per symbol, the trend's value on each day (None: no data that day)."""
    days = document["days"]
    symbols = sorted({s for d in days.values() if d for s in d["symbols"]})
    return {
        symbol: [
            _figure(d["symbols"][symbol], trend) if d and symbol in d["symbols"] else None
            for d in days.values()
        ]
        for symbol in symbols
    }


def _trend(document: dict[str, Any], trend: str) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        days = [day[5:] for day in document["days"]]
        for symbol, values in series(document, trend).items():
            points = [float("nan") if v is None else v for v in values]
            axes.plot(days, points, marker="o", label=symbol)
        axes.set_title(_TITLES[trend])
        axes.legend()

    return draw


def _rows(document: dict[str, Any]) -> str:
    cells = []
    for day, figures in document["days"].items():
        if figures is None:
            cells.append(f"<tr><td>{day}</td><td colspan='3'>no data</td></tr>")
            continue
        gate = figures["gate"]
        open_checks = [f"{n}: {v}" for n, v in gate["checks"].items() if v != "PASS"]
        cells.append(
            f"<tr><td>{day}</td><td>{html.escape(figures['total']['net'])}</td>"
            f"<td>{gate['verdict']}</td><td>{html.escape('; '.join(open_checks))}</td></tr>"
        )
    return "".join(cells)


def render(document: dict[str, Any]) -> str:
    figures = "".join(
        f'<figure id="{trend}">{svg(_trend(document, trend))}</figure>' for trend in TRENDS
    )
    label = html.escape(document["week"]["label"])
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>week {label}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
        "table{border-collapse:collapse}</style></head><body>"
        f"<h1>week {label}</h1>{figures}<table><tr><th>day</th><th>net</th><th>gate</th>"
        f"<th>checks not passed</th></tr>{_rows(document)}</table></body></html>\n"
    )


def write_weekly_page(path: Path, document: dict[str, Any]) -> None:
    path.write_text(render(document))

"""The sweep's heatmap: net PnL over two swept fields, one cell per pair of values.

With more than two swept fields each cell shows the best net PnL over the others. Written as an
SVG with a fixed hash salt and no date, so the same sweep writes the same file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt

from mm_backtest.sweep import Axis


def cells(rows: list[dict[str, Any]], x: Axis, y: Axis) -> list[list[float | None]]:
    """Best net PnL per (y value, x value); None where no point finished."""
    best: dict[tuple[int, int], Decimal] = {}
    for row in rows:
        point = row["point"]
        key = (y.values.index(point[y.key]), x.values.index(point[x.key]))
        net = Decimal(row["net"])
        if key not in best or net > best[key]:
            best[key] = net
    return [
        [float(best[(j, i)]) if (j, i) in best else None for i in range(len(x.values))]
        for j in range(len(y.values))
    ]


def write_heatmap(path: Path, rows: list[dict[str, Any]], x: Axis, y: Axis) -> None:
    grid = cells(rows, x, y)
    values = [[float("nan") if v is None else v for v in line] for line in grid]
    with plt.rc_context({"svg.hashsalt": "mm-backtest"}):
        figure, axes = plt.subplots(figsize=(1.2 * len(x.values) + 3, 0.8 * len(y.values) + 2))
        try:
            image = axes.imshow(values, cmap="RdYlGn", origin="lower", aspect="auto")
            axes.set_xticks(range(len(x.values)), [str(v) for v in x.values])
            axes.set_yticks(range(len(y.values)), [str(v) for v in y.values])
            axes.set_xlabel(x.key)
            axes.set_ylabel(y.key)
            axes.set_title("net PnL (quote currency)")
            for j, line in enumerate(grid):
                for i, value in enumerate(line):
                    text = "-" if value is None else f"{value:.2f}"
                    axes.text(i, j, text, ha="center", va="center", fontsize=8)
            figure.colorbar(image, ax=axes)
            figure.tight_layout()
            figure.savefig(path, format="svg", metadata={"Date": None})
        finally:
            plt.close(figure)

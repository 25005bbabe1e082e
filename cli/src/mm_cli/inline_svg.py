"""One matplotlib drawing as inline SVG text, for the self-contained pages of `mm report` and
`mm prelive` (no files beside the page, no network). Owns the choice of matplotlib's SVG backend."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN = 8.0


def svg(draw: Callable[[Axes], None], height_in: float = 3.0) -> str:
    """The `<svg>` element of one figure `draw` fills (its XML prologue dropped); the figure is
    closed even when `draw` raises."""
    # Imported at the first drawing: matplotlib takes a second or more to load, which every
    # command importing a page module (`mm backtest`, `mm prelive`) would otherwise pay at start,
    # also when it only refuses its arguments.
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(WIDTH_IN, height_in))
    try:
        draw(axes)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]

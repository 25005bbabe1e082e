"""One drawing as inline SVG: the `<svg>` element alone, as high as asked, no figure left open."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes

from mm_cli.inline_svg import svg


def _line(axes: Axes) -> None:
    axes.plot([0, 1, 2], [1, 3, 2])


def test_a_drawing_becomes_one_svg_element_of_the_asked_height_with_no_figure_left_open() -> None:
    text = svg(_line, height_in=3.2)
    assert text.startswith("<svg")
    assert text.rstrip().endswith("</svg>")
    assert re.search(r"<path", text)
    assert re.search(r'height="230\.4pt"', text)  # 3.2 in at 72 pt per inch
    assert re.search(r'height="216pt"', svg(_line))  # 3.0 in unless asked
    assert plt.get_fignums() == []


def test_a_drawing_that_raises_leaves_no_figure_open() -> None:
    def broken(axes: Axes) -> None:
        raise ValueError("no data")

    with pytest.raises(ValueError, match="no data"):
        svg(broken)
    assert plt.get_fignums() == []

"""`mm report --html` in a real headless browser: the page loads offline and every plot renders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.report import summarise
from mm_cli.report_html import PLOTS, write_page
from mm_proto import KpiSnapshot, Side
from mm_proto.examples import example_instrument

from .kpi_facts import fill, top

MINUTE = 60 * 10**9


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed: `make browser` (Debian, as root) or the OS package"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _snapshots() -> list[KpiSnapshot]:
    books = Ledger((1.0, 10.0))
    books.add_instrument(example_instrument())
    start = time.time_ns() - 10 * MINUTE
    snapshots: list[KpiSnapshot] = []
    for minute in range(6):
        ts = start + minute * MINUTE
        bid = 650000 + 7 * (minute % 3) - 5 * (minute // 3)
        books.on_top(top(bid, ts))
        side = Side.BUY if minute % 2 == 0 else Side.SELL
        books.on_fill(fill(f"f{minute}", side, bid if side is Side.BUY else bid + 2, ts + 1))
        books.on_top(top(bid + 4, ts + 20 * 10**9))
        snapshots += books.flush(ts, ts + MINUTE)
    return snapshots


def _headless(chromium: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *arguments],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.timeout(180)
def test_the_report_page_renders_every_plot_in_a_headless_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    snapshots = _snapshots()
    page = tmp_path / "report.html"
    write_page(page, summarise(snapshots), snapshots)
    dom = _headless(chromium, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    for plot in PLOTS:
        figure = re.search(rf'<figure id="plot-{plot}">(.*?)</figure>', dom.stdout, re.S)
        assert figure is not None, plot
        assert re.search(r"<svg[^>]*>.*<path", figure.group(1), re.S), plot
    shot = tmp_path / "report.png"
    rendered = _headless(chromium, f"--screenshot={shot}", "--window-size=1000,2400", page.as_uri())
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # five plots, not a blank page

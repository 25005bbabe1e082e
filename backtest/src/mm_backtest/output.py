"""A run's files: `report.json` (the `mm report --json` document plus a `backtest` section),
`fills.jsonl` (one Fill per line, the contract's JSON) and `report.html` (the `mm report --html`
page, written by the function the caller passes). Nothing here reads a clock, so the same run
writes the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from ledger.report import summarise
from mm_backtest.engine import Result
from mm_proto import KpiSnapshot

HtmlWriter = Callable[[Path, dict[str, Any], list[KpiSnapshot]], None]


def summary(result: Result, about: dict[str, Any]) -> dict[str, Any]:
    """The report document: the ledger's summary of the run's snapshots, and how it ran."""
    document = summarise(result.snapshots)
    document["backtest"] = about | {
        "frames": result.frames,
        "from_ns": result.start_ns,
        "to_ns": result.end_ns,
        "fills": len(result.fills),
        "interrupted": result.interrupted,
        "counts": result.counts,
        "skipped_lines": result.skipped,
    }
    return document


def write_run(
    out: Path, result: Result, about: dict[str, Any], html: HtmlWriter | None = None
) -> dict[str, Any]:
    """Write the run's files into `out` (created); returns the report document."""
    out.mkdir(parents=True, exist_ok=True)
    document = summary(result, about)
    (out / "report.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    encoder = msgspec.json.Encoder()
    with (out / "fills.jsonl").open("wb") as fills:
        for fill in result.fills:
            fills.write(encoder.encode(fill) + b"\n")
    if html is not None:
        with reproducible_svg(result.end_ns):
            html(out / "report.html", document, result.snapshots)
    return document


@contextmanager
def reproducible_svg(end_ns: int) -> Iterator[None]:
    """matplotlib's SVGs without the wall clock's date or random element ids: the page's date
    is the run's last venue time (`SOURCE_DATE_EPOCH`) and its ids are salted by a constant."""
    # Imported here: matplotlib takes a while to load and only the page needs it.
    import matplotlib

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(end_ns // 1_000_000_000)
    try:
        with matplotlib.rc_context({"svg.hashsalt": "mm-backtest"}):
            yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def headline(document: dict[str, Any]) -> dict[str, Any]:
    """Net PnL, the 10 s markout and presence over every symbol: what a sweep ranks by."""
    symbols = document["symbols"]
    markout_quote = 0.0
    markout_fills = 0
    presence: list[float] = []
    for figures in symbols.values():
        for side in ("buy", "sell"):
            row = figures["markouts"][side].get("10s")
            if row is not None:
                markout_quote += float(row["quote"])
                markout_fills += row["fills"]
        presence.append(figures["quoting"]["presence"])
    return {
        "net": document["total"]["net"],
        "fills": document["backtest"]["fills"],
        "markout_10s_quote": round(markout_quote, 6),
        "markout_10s_fills": markout_fills,
        "presence": round(sum(presence) / len(presence), 4) if presence else 0.0,
    }

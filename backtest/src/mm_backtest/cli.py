"""`mm backtest`: its arguments, one run or a sweep, progress, the files and the table.

    mm backtest --data DIR|FILES --params P.json [--latency feed=2] [--latency order=@acks.txt]
                [--queue sim|probabilistic] [--from T] [--to T] --out DIR
                [--sweep 'min_spread_bps=1,2,3' --sweep 'levels=1,3'] [--workers N]

Exit codes: 0 done, 1 bad input (the reason on stderr), 130 interrupted (partial results
written). `mm_cli` adds the subcommand and passes the `mm report --html` page writer.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from mm_backtest.engine import Backtest
from mm_backtest.latency import Latency, LatencyError, constant_ms, parse_latency
from mm_backtest.output import HtmlWriter, headline, write_run
from mm_backtest.params import BacktestParams, ParamsError, load_document, parse_params
from mm_backtest.progress import Reporter
from mm_backtest.source import SourceError, count_lines
from mm_backtest.sweep import (
    Job,
    grid,
    parse_axis,
    point_document,
    run_sweep,
)

INTERRUPTED = 130


def instant_ns(text: str | None) -> int | None:
    """ISO 8601 (UTC unless it says) or Unix seconds, as ns; ParamsError otherwise."""
    if text is None:
        return None
    try:
        return int(float(text) * 1e9)
    except (ValueError, OverflowError):  # not a number; nan; inf
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ParamsError(f"expected ISO 8601 or Unix seconds, was {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1e9)


def latencies(specs: list[str], params: BacktestParams) -> tuple[Latency, Latency]:
    chosen = {
        "feed": constant_ms(params.latency.feed_ms),
        "order": constant_ms(params.latency.order_ms),
    }
    for spec in specs:
        path, separator, value = spec.partition("=")
        if not separator or path not in chosen:
            raise LatencyError(f"--latency must be feed=... or order=..., was {spec!r}")
        chosen[path] = parse_latency(value)
    return chosen["feed"], chosen["order"]


def run(arguments: argparse.Namespace, html: HtmlWriter | None) -> int:
    """`mm backtest`'s exit code."""
    try:
        document = load_document(arguments.params)
        if arguments.queue is not None:
            document = document | {"queue": arguments.queue}
        params = parse_params(document)
        feed, order = latencies(arguments.latency, params)
        window = (instant_ns(arguments.start), instant_ns(arguments.end))
        if window[0] is not None and window[1] is not None and window[0] >= window[1]:
            raise ParamsError(
                f"--from must be before --to, was {arguments.start!r} to {arguments.end!r}"
            )
        about = {
            "data": [str(p) for p in arguments.data],
            "feed_latency": feed.describe(),
            "order_latency": order.describe(),
            "queue": params.queue,
        }
        if arguments.sweep:
            return _sweep(arguments, document, (feed, order), window, about)
        return _single(arguments, params, (feed, order), window, about, html)
    except (ParamsError, LatencyError, SourceError) as error:
        print(f"mm backtest: {error}", file=sys.stderr)
        return 1


def _single(
    arguments: argparse.Namespace,
    params: BacktestParams,
    paths: tuple[Latency, Latency],
    window: tuple[int | None, int | None],
    about: dict[str, Any],
    html: HtmlWriter | None,
) -> int:
    total = count_lines(arguments.data)
    backtest = Backtest(params, list(arguments.data), *paths, window)
    with Reporter("backtest", total) as reporter:
        result = backtest.run(lambda done, _ts: reporter.update(done), stop_on_sigint=True)
    document = write_run(arguments.out, result, about, html)
    row = headline(document)
    state = "interrupted; partial results" if result.interrupted else "done"
    print(
        f"{state}: {result.frames:,} frames, {row['fills']} fills, net {row['net']}, "
        f"presence {row['presence']:.1%}; wrote {arguments.out}/report.json, fills.jsonl"
        + (", report.html" if html is not None else "")
    )
    return INTERRUPTED if result.interrupted else 0


def _sweep(
    arguments: argparse.Namespace,
    document: dict[str, Any],
    paths: tuple[Latency, Latency],
    window: tuple[int | None, int | None],
    about: dict[str, Any],
) -> int:
    axes = [parse_axis(text) for text in arguments.sweep]
    points = grid(axes)
    jobs = [
        Job(
            point_document(document, point),
            point,
            tuple(arguments.data),
            *paths,
            window,
            arguments.out,
            about,
        )
        for point in points
    ]
    with Reporter("sweep", len(jobs)) as reporter:
        rows, interrupted = run_sweep(
            jobs, arguments.workers, lambda n: reporter.update(n, "points")
        )
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "sweep.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    if len(axes) >= 2 and rows:
        # Imported here: matplotlib takes a while to load and only the heatmap needs it.
        from mm_backtest.heatmap import write_heatmap

        write_heatmap(arguments.out / "heatmap.svg", rows, axes[0], axes[1])
    print_table(rows, [axis.key for axis in axes], Console())
    if interrupted:
        print(f"interrupted: {len(rows)} of {len(jobs)} points finished", file=sys.stderr)
        return INTERRUPTED
    return 0


def print_table(rows: list[dict[str, Any]], keys: list[str], console: Console) -> None:
    table = Table(title="sweep, ranked by net PnL")
    for column in ("rank", *keys, "net", "fills", "markout 10s", "presence"):
        table.add_column(column, justify="right")
    for number, row in enumerate(rows, 1):
        mark = " (partial)" if row["interrupted"] else ""
        table.add_row(
            str(number),
            *(str(row["point"][key]) for key in keys),
            row["net"] + mark,
            str(row["fills"]),
            f"{row['markout_10s_quote']:.4f}",
            f"{row['presence']:.1%}",
        )
    console.print(table)

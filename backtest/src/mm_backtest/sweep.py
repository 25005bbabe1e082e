"""Sweeps: one backtest per point of a parameter grid, in parallel processes, ranked by net PnL.

`--sweep 'min_spread_bps=1,2,3' --sweep 'levels=1,3'` is the grid of every combination; each
value is read as JSON (so `1`, `2.5`, `true`, `"x"`), else as text. Each point runs in a worker
process (one per core by default) and writes its `report.json` and `fills.jsonl` under
`<out>/points/<name>/`. The ranked table and `sweep.json` list every finished point; with two or
more swept fields `heatmap.svg` shows net PnL over the first two (the rest at their best value).
Ctrl-C stops the sweep: points not started are dropped, running ones stop where they are
(marked interrupted), and the finished ones are reported.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from mm_backtest.engine import Backtest
from mm_backtest.latency import Latency
from mm_backtest.output import headline, write_run
from mm_backtest.params import ParamsError, parse_params, with_override


@dataclass(frozen=True)
class Axis:
    """One swept field and its values."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one point (picklable)."""

    document: dict[str, Any]
    point: dict[str, Any]
    paths: tuple[Path, ...]
    feed: Latency
    order: Latency
    window: tuple[int | None, int | None]
    out: Path
    about: dict[str, Any]


def parse_axis(text: str) -> Axis:
    """`key=v1,v2,...`; ParamsError when there is no key or no value."""
    key, separator, values = text.partition("=")
    key = key.strip()
    items = [item.strip() for item in values.split(",") if item.strip()]
    if not separator or not key or not items:
        raise ParamsError(f"--sweep must be KEY=V1,V2,... , was {text!r}")
    return Axis(key, tuple(_value(item) for item in items))


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def grid(axes: list[Axis]) -> list[dict[str, Any]]:
    keys = [axis.key for axis in axes]
    if len(set(keys)) != len(keys):
        raise ParamsError(f"each field may be swept once, got {keys}")
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(a.values for a in axes))
    ]


def point_name(point: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in point.items()).replace("/", "_")


def point_document(document: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """The base parameters with the point's values; validated (ParamsError names the field)."""
    for key, value in point.items():
        document = with_override(document, key, value)
    parse_params(document)
    return document


def run_point(job: Job) -> dict[str, Any]:
    """One point, in a worker: run, write its files, return its table row."""
    params = parse_params(job.document)
    result = Backtest(params, list(job.paths), job.feed, job.order, job.window).run()
    out = job.out / "points" / point_name(job.point)
    document = write_run(out, result, job.about | {"point": job.point})
    return {"point": job.point, "interrupted": result.interrupted} | headline(document)


def run_sweep(
    jobs: list[Job], workers: int, on_done: Any = None
) -> tuple[list[dict[str, Any]], bool]:
    """Every job in `workers` processes; returns the finished rows and whether it was cut short."""
    rows: list[dict[str, Any]] = []
    interrupted = False
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))))
    futures: list[Future[dict[str, Any]]] = [pool.submit(run_point, job) for job in jobs]
    try:
        for future in futures:
            rows.append(future.result())
            if on_done is not None:
                on_done(len(rows))
    except KeyboardInterrupt:
        interrupted = True
        pool.shutdown(wait=True, cancel_futures=True)
        finished = [_result(f) for f in futures if f.done() and not f.cancelled()]
        rows = [row for row in finished if row is not None]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return rank(rows), interrupted


def _result(future: Future[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return future.result()
    except (BrokenProcessPool, KeyboardInterrupt):
        return None


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best net PnL first; ties by the point's text so the order never depends on timing."""
    return sorted(rows, key=lambda row: (-Decimal(row["net"]), point_name(row["point"])))

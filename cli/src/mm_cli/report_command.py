"""`mm report`: the ledger's figures over a window, read from stream KPI (running or stopped stack).

The figures come from `ledger.report.summarise` over the KPI snapshots whose window overlaps the
asked one; the terminal form prints them as tables, `--json` as one document (keys documented in
services/ledger/README.md) and `--html FILE` as one self-contained page with plots.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import nats
from nats.js import api
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.table import Table

from ledger.report import summarise
from mm_cli.bus_connect import BusUnreachableError, connect
from mm_cli.report_window import Window
from mm_cli.stored_bus import served_store
from mm_proto import DecodeError, KpiSnapshot, Message, decode, subjects
from mm_runtime.nats_server import NatsServerError

_IDLE_S = 1.0
MessageT = TypeVar("MessageT", bound=Message)


class ReportError(Exception):
    """Nothing to report, with the reason the operator can act on."""


async def read_snapshots(
    nats_url: str, options: dict[str, Any], window: Window
) -> list[KpiSnapshot]:
    """Every KPI snapshot stored from a little before the window's start."""
    return await read_stored(
        nats_url,
        options,
        (subjects.KPI_STREAM, subjects.kpi_pattern()),
        window.from_ns - 3600 * 10**9,
        KpiSnapshot,
    )


async def read_stored(
    nats_url: str,
    options: dict[str, Any],
    stream: tuple[str, str],
    start_ns: int,
    message_type: type[MessageT],
    on_bad: Callable[[], None] | None = None,
) -> list[MessageT]:
    """Every message of `message_type` stored in stream `stream[0]` on subjects `stream[1]`
    since `start_ns`; undecodable ones are skipped (each calls `on_bad`). ReportError when the
    stream does not exist."""
    client = await connect(nats_url, "mm-report", options)
    try:
        js = client.jetstream()
        try:
            info = await js.stream_info(stream[0])
        except NotFoundError:
            raise ReportError(
                f"no {stream[0]} stream on this bus: has the stack ever run?"
            ) from None
        if info.state.messages == 0:
            return []
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.fromtimestamp(start_ns / 1e9, UTC),
        )
        subscription = await js.subscribe(stream[1], ordered_consumer=True, config=config)
        try:
            return await _drain(subscription, message_type, on_bad)
        finally:
            await subscription.unsubscribe()
    finally:
        await client.close()


async def _drain(
    subscription: Any, message_type: type[MessageT], on_bad: Callable[[], None] | None
) -> list[MessageT]:
    """What the subscription holds until nothing is pending (or it goes quiet)."""
    found: list[MessageT] = []
    while True:
        try:
            msg = await subscription.next_msg(timeout=_IDLE_S)
        except TimeoutError:
            return found
        try:
            found.append(decode(msg.data, message_type))
        except DecodeError:
            if on_bad is not None:
                on_bad()
        if msg.metadata.num_pending == 0:
            return found


def select(snapshots: list[KpiSnapshot], window: Window, symbol: str | None) -> list[KpiSnapshot]:
    """The snapshots overlapping the window (of one symbol); ReportError when there are none."""
    known = sorted({s.symbol for s in snapshots})
    if symbol is not None and symbol not in known:
        raise ReportError(
            f"unknown symbol {symbol!r}: the KPI stream has {', '.join(known) or 'no symbols'}"
        )
    chosen = [
        s
        for s in snapshots
        if s.ts_end_ns > window.from_ns
        and s.ts_start_ns < window.to_ns
        and (symbol is None or s.symbol == symbol)
    ]
    if not chosen:
        held = ""
        if snapshots:
            first = min(s.ts_start_ns for s in snapshots)
            last = max(s.ts_end_ns for s in snapshots)
            held = f"; the stream holds {Window(first, last).describe()}"
        raise ReportError(f"no KPI snapshots in {window.describe()}{held}")
    return sorted(chosen, key=lambda s: (s.ts_end_ns, s.symbol, s.side, s.color))


def print_tables(report: dict[str, Any], console: Console) -> None:
    """The terminal form: PnL attribution, markouts by horizon, quoting KPIs."""
    window = report["window"]
    console.print(f"window {Window(window['from_ns'], window['to_ns']).describe()}")
    pnl = Table(title="PnL attribution (quote currency, positive is good)")
    for column in ("symbol", "color", "spread", "fees", "inventory", "funding", "net"):
        pnl.add_column(column, justify="left" if column in ("symbol", "color") else "right")
    for symbol, figures in report["symbols"].items():
        for color, row in figures["pnl_by_color"].items():
            pnl.add_row(symbol, color, *(row[key] for key in _COMPONENTS))
    pnl.add_row("total", "", *(report["total"][key] for key in _COMPONENTS))
    console.print(pnl)
    markouts = Table(title="markouts (bps, volume-weighted; toxic share)")
    for column in ("symbol", "side", "horizon", "bps", "quote", "fills", "toxic"):
        markouts.add_column(column)
    for symbol, figures in report["symbols"].items():
        for side, horizons in figures["markouts"].items():
            for horizon, row in horizons.items():
                markouts.add_row(
                    symbol,
                    side,
                    horizon,
                    f"{row['bps']:.2f}",
                    row["quote"],
                    str(row["fills"]),
                    f"{row['toxic_share']:.0%}",
                )
    console.print(markouts)
    quoting = Table(title="quoting")
    quoting.add_column("figure")
    symbols = list(report["symbols"])
    for symbol in symbols:
        quoting.add_column(symbol, justify="right")
    for key in _QUOTING:
        quoting.add_row(key, *(str(report["symbols"][s]["quoting"][key]) for s in symbols))
    console.print(quoting)


_COMPONENTS = ("spread", "fees", "inventory", "funding", "net")
_QUOTING = (
    "presence",
    "depth_5bps_lots",
    "depth_10bps_lots",
    "quote_age_s",
    "fills",
    "fills_per_order",
    "order_to_trade",
    "amends_per_fill",
    "cancels_per_fill",
    "taker_share",
    "rejects",
    "inventory_twa_lots",
    "inventory_min_lots",
    "inventory_max_lots",
    "max_drawdown",
)


async def report(
    nats_url: str,
    options: dict[str, Any],
    window: Window,
    symbol: str | None,
    as_json: bool,
    html: Path | None,
) -> int:
    """Run `mm report`; 0 on success, 1 when there is nothing to report (message on stderr)."""
    snapshots = select(await read_snapshots(nats_url, options, window), window, symbol)
    summary = summarise(snapshots)
    summary["window"] |= {"asked_from_ns": window.from_ns, "asked_to_ns": window.to_ns}
    if html is not None:
        # Imported here: matplotlib takes a while to load and only this option needs it.
        from mm_cli.report_html import write_page

        write_page(html, summary, snapshots)
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    elif html is None:
        print_tables(summary, Console())
    return 0


def run_report(arguments: Any, options: dict[str, Any], window: Window) -> int:
    """`mm report`'s exit code: 0 done, 1 nothing to report, 2 no way to read the stream."""
    try:
        try:
            return asyncio.run(_report(arguments, arguments.nats, options, window))
        except BusUnreachableError as unreachable:
            store = arguments.run_dir / "nats"
            if not store.is_dir():
                print(f"mm report: {unreachable}", file=sys.stderr)
                return 2
            print(
                f"mm report: the stack is stopped; reading its KPI stream from {store}",
                file=sys.stderr,
            )
            return _report_from_store(arguments, store, options, window)
    except ReportError as error:
        print(f"mm report: {error}", file=sys.stderr)
        return 1
    except (OSError, nats.errors.Error, NatsServerError, BusUnreachableError) as error:
        where = f"mm report: cannot read the KPI stream at {arguments.nats}"
        print(f"{where}: {error}", file=sys.stderr)
        return 2


async def _report(arguments: Any, url: str, options: dict[str, Any], window: Window) -> int:
    html = arguments.html
    return await report(url, options, window, arguments.symbol, arguments.json, html)


def _report_from_store(arguments: Any, store: Path, options: dict[str, Any], window: Window) -> int:
    """Serve a stopped stack's JetStream store on a private port just long enough to read it."""
    with served_store(arguments.run_dir) as url:
        return asyncio.run(_report(arguments, url, options, window))

"""`mm report`: windows, the KPI stream read back into tables, JSON and a page with plots."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from ledger import Ledger
from mm_cli.report_command import ReportError, read_snapshots, report, run_report, select
from mm_cli.report_window import Window, WindowError, window
from mm_proto import KpiSnapshot, Side
from mm_proto.examples import example_instrument
from mm_runtime.nats_server import NatsServer as StoreServer
from mm_runtime.nats_server import free_port
from mm_runtime.testing import NatsServer

from .kpi_facts import fill, store, top

NOW = time.time_ns()
MINUTE = 60 * 10**9


def test_since_from_and_to_name_the_window_and_bad_ones_say_why() -> None:
    assert window("10m", None, None, now_ns=NOW) == Window(NOW - 10 * MINUTE, NOW)
    assert window(None, "2026-01-01T00:00:00Z", "1767226000", NOW).from_ns == 1767225600 * 10**9
    for since, start, end, reason in [
        ("1x", None, None, "unit"),
        ("1h", "0", None, "either --since"),
        (None, None, "5", "--to needs --from"),
        (None, "100", "50", "empty or reversed"),
        (None, str(NOW / 1e9 + 3600), str(NOW / 1e9 + 7200), "in the future"),
        (None, "yesterday", None, "ISO 8601"),
        (None, "inf", None, "ISO 8601"),
        (None, "nan", None, "ISO 8601"),
        (None, "1e20", None, "between 1970 and 9999"),
        (None, "-5", None, "between 1970 and 9999"),
        ("99999999d", None, None, "before 1970"),
    ]:
        with pytest.raises(WindowError, match=reason):
            window(since, start, end, now_ns=NOW)


def _snapshots() -> list[KpiSnapshot]:
    books = Ledger((1.0,))
    books.add_instrument(example_instrument())
    start = NOW - 5 * MINUTE
    snapshots = []
    for minute in range(3):
        ts = start + minute * MINUTE
        bid = 650000 + 10 * minute
        books.on_top(top(bid, ts))
        books.on_fill(fill(f"f{minute}", Side.BUY if minute % 2 == 0 else Side.SELL, bid, ts + 1))
        books.on_top(top(bid + 3, ts + 2 * 10**9))
        snapshots += books.flush(ts, ts + MINUTE)
    return snapshots


@pytest.fixture
async def stored(nats_server: NatsServer) -> list[KpiSnapshot]:
    snapshots = _snapshots()
    await store(nats_server.url, snapshots)
    return snapshots


async def test_the_json_report_of_a_stopped_ledgers_stream_sums_every_snapshot(
    nats_server: NatsServer, stored: list[KpiSnapshot], capsys: pytest.CaptureFixture[str]
) -> None:
    asked = Window(NOW - 10 * MINUTE, NOW)
    assert await report(nats_server.url, {}, asked, None, True, None) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"window", "total", "symbols"}
    net = sum(float(s.net_pnl) for s in stored)
    assert float(document["total"]["net"]) == pytest.approx(net, abs=1e-12)
    btc = document["symbols"]["BTCUSDT"]
    assert set(btc) == {"pnl", "pnl_by_color", "pnl_by_side", "markouts", "quoting"}
    assert btc["quoting"]["fills"] == 3
    assert btc["markouts"]["buy"]["1s"]["fills"] == 2


async def test_unknown_symbols_and_empty_windows_are_refused_with_what_there_is(
    nats_server: NatsServer, stored: list[KpiSnapshot]
) -> None:
    snapshots = await read_snapshots(nats_server.url, {}, Window(NOW - 10 * MINUTE, NOW))
    assert len(snapshots) == len(stored)
    with pytest.raises(ReportError, match=r"unknown symbol 'ETHUSDT'.*BTCUSDT"):
        select(snapshots, Window(NOW - 10 * MINUTE, NOW), "ETHUSDT")
    with pytest.raises(ReportError, match=r"no KPI snapshots in .* the stream holds"):
        select(snapshots, Window(NOW - 100 * MINUTE, NOW - 90 * MINUTE), None)


async def test_the_terminal_tables_and_the_page_carry_every_figure_and_plot(
    nats_server: NatsServer,
    stored: list[KpiSnapshot],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asked = Window(NOW - 10 * MINUTE, NOW)
    assert await report(nats_server.url, {}, asked, "BTCUSDT", False, None) == 0
    out = capsys.readouterr().out
    for heading in ("PnL attribution", "markouts", "quoting", "presence", "BTCUSDT"):
        assert heading in out
    page = tmp_path / "report.html"
    assert await report(nats_server.url, {}, asked, None, False, page) == 0
    text = page.read_text()
    for plot in ("pnl", "inventory", "markouts", "presence", "rejects"):
        assert re.search(rf'<figure id="plot-{plot}"><svg', text), plot
    assert not re.search(r'(src|href)="https?://', text)  # nothing fetched to open it


def test_a_stopped_stacks_store_is_read_when_no_server_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    server = StoreServer(run_dir / "nats")
    server.start()
    try:
        asyncio.run(store(server.url, _snapshots()))
    finally:
        server.stop()
    arguments = argparse.Namespace(
        nats=f"nats://127.0.0.1:{free_port()}", run_dir=run_dir, symbol=None, json=True, html=None
    )
    assert run_report(arguments, {}, Window(NOW - 10 * MINUTE, NOW)) == 0
    captured = capsys.readouterr()
    assert "the stack is stopped" in captured.err
    assert json.loads(captured.out)["symbols"]["BTCUSDT"]["quoting"]["fills"] == 3
    nowhere = argparse.Namespace(**{**vars(arguments), "run_dir": tmp_path / "missing"})
    assert run_report(nowhere, {}, Window(NOW - 10 * MINUTE, NOW)) == 2
    assert "no NATS server at" in capsys.readouterr().err

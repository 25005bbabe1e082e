"""`mm gate` over a live window judges tick-to-order p99, obligation coverage and reconciliation
from the facts the executor and the quoter store (made here by their own code, published to a
real nats-server): PASS, FAIL and NO DATA for each, by color, and bad facts counted and skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from executor.own_orders import ReconcileReport
from mm_cli.gate_thresholds import CHECKS
from mm_proto import encode, subjects
from mm_proto.examples import examples
from mm_runtime.testing import NatsServer

from . import gate_facts_builders as build
from .kpi_facts import store
from .test_gate import MINUTE, NOW, _snapshots, mm_gate, rows

STORED = ["tick_to_order_p99", "obligation_coverage", "reconciliation"]
BLUE = NOW - 5 * MINUTE  # the snapshots' first two minutes are blue, the third green
GREEN = NOW - 3 * MINUTE


@pytest.fixture
def bus(nats_server: NatsServer, tmp_path: Path) -> list[str]:
    asyncio.run(store(nats_server.url, _snapshots()))
    return ["--nats", nats_server.url, "--run-dir", str(tmp_path / "no-run")]


def gate(*arguments: str) -> dict[str, str]:
    result = mm_gate("--since", "1h", *arguments)
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    table = rows(result.stdout)
    assert list(table) == list(CHECKS), result.stdout + result.stderr
    return table


def test_clean_facts_pass_each_check_with_its_figure_and_where_it_comes_from(
    bus: list[str], nats_server: NatsServer
) -> None:
    url = nats_server.url
    asyncio.run(build.latency(url, [1.0, 2.0, 3.0, 40.0], BLUE, BLUE + MINUTE))
    asyncio.run(build.latency(url, [5.0, 6.0], BLUE + MINUTE, BLUE + 2 * MINUTE))
    asyncio.run(build.obligation(url, [True] * 6, BLUE, BLUE + MINUTE))
    report = ReconcileReport(build.SYMBOL, adopted=["mm-0-a-1"])  # a new process adopts
    asyncio.run(build.reconciliation(url, report, BLUE + 1, first=True))
    asyncio.run(build.reconciliation(url, ReconcileReport(build.SYMBOL), BLUE + 2, first=False))
    table = gate(*bus)
    assert (
        "40.0 ms (BTCUSDT, largest p99 of 2 summaries, 6 sends) | <= 50 | PASS"
        in (table["tick_to_order_p99"])
    )
    assert "100.00% (BTCUSDT, 6/6 snapshots) | >= 0.95 | PASS" in table["obligation_coverage"]
    assert "venue and bus agree (2 reconciliations) | clean | PASS" in table["reconciliation"]


def test_a_slow_minute_thin_coverage_or_one_mismatch_fails_its_check(
    bus: list[str], nats_server: NatsServer
) -> None:
    url = nats_server.url
    asyncio.run(build.latency(url, [1.0] * 99, BLUE, BLUE + MINUTE))
    asyncio.run(build.latency(url, [1.0] * 98 + [80.0, 90.0], BLUE + MINUTE, GREEN))
    asyncio.run(build.obligation(url, [True, False, True, False, True, True], BLUE, GREEN))
    asyncio.run(build.reconciliation(url, ReconcileReport(build.SYMBOL), BLUE + 1, first=True))
    removed = ReconcileReport(build.SYMBOL, removed=["mm-0-a-7"])
    asyncio.run(build.reconciliation(url, removed, BLUE + 2, first=False))
    result = mm_gate("--since", "1h", *bus)
    assert result.returncode == 1
    table = rows(result.stdout)
    assert (
        "80.0 ms (BTCUSDT, largest p99 of 2 summaries, 199 sends) | <= 50 | FAIL"
        in (table["tick_to_order_p99"])
    )
    assert "66.67% (BTCUSDT, 4/6 snapshots) | >= 0.95 | FAIL" in table["obligation_coverage"]
    assert "1 of 2 mismatched: BTCUSDT removed: mm-0-a-7" in table["reconciliation"]
    assert table["reconciliation"].endswith("FAIL")


def test_without_facts_in_the_window_each_check_is_no_data_and_says_why(
    bus: list[str], nats_server: NatsServer
) -> None:
    old = NOW - 3 * 3600 * 10**9  # before the window: published now, but about then
    asyncio.run(build.latency(nats_server.url, [1.0], old, old + MINUTE))
    asyncio.run(build.obligation(nats_server.url, [True], old, old + MINUTE))
    table = gate(*bus)
    assert "no tick-to-order summary in the window" in table["tick_to_order_p99"]
    assert "no obligation snapshot in the window" in table["obligation_coverage"]
    assert "no reconciliation in the window" in table["reconciliation"]
    for name in STORED:
        assert table[name].endswith("NO DATA"), table[name]
    asyncio.run(build.drop_stream(nats_server.url, subjects.QUOTER_STREAM))  # a bus before it
    assert "no QUOTER stream on this bus" in gate(*bus)["obligation_coverage"]


def test_with_a_color_only_the_facts_of_symbols_quoting_it_then_count(
    bus: list[str], nats_server: NatsServer, tmp_path: Path
) -> None:
    url = nats_server.url
    asyncio.run(build.latency(url, [70.0], GREEN, GREEN + MINUTE))  # slow while green
    asyncio.run(build.latency(url, [2.0], BLUE, BLUE + MINUTE))
    asyncio.run(build.obligation(url, [False, False], GREEN + 1, GREEN + MINUTE - 1))
    mismatch = ReconcileReport(build.SYMBOL, corrected=["mm-0-a-3"])
    asyncio.run(build.reconciliation(url, mismatch, GREEN + 5, first=False))
    blue = gate("--color", "blue", *bus)
    assert "2.0 ms" in blue["tick_to_order_p99"]
    assert blue["tick_to_order_p99"].endswith("PASS")
    assert blue["obligation_coverage"].endswith("NO DATA")
    assert blue["reconciliation"].endswith("NO DATA")
    green = gate("--color", "green", *bus)
    assert "70.0 ms" in green["tick_to_order_p99"]
    assert green["tick_to_order_p99"].endswith("FAIL")
    assert "0.00% (BTCUSDT, 0/2 snapshots)" in green["obligation_coverage"]
    assert "corrected: mm-0-a-3" in green["reconciliation"]


def test_bad_facts_are_counted_and_skipped_and_a_check_with_any_cannot_pass(
    bus: list[str], nats_server: NatsServer
) -> None:
    url = nats_server.url
    asyncio.run(build.latency(url, [1.0], BLUE, BLUE + MINUTE))
    asyncio.run(build.obligation(url, [True], BLUE, BLUE + MINUTE))
    asyncio.run(build.reconciliation(url, ReconcileReport(build.SYMBOL), BLUE + 1, first=True))
    latency = subjects.tick_to_order(build.VENUE, build.CATEGORY, build.SYMBOL)
    obligation = subjects.obligation(build.VENUE, build.CATEGORY, build.SYMBOL)
    reconciliation = subjects.reconciliation(build.VENUE, build.CATEGORY, build.SYMBOL)
    summary = next(m for m in examples() if type(m).__name__ == "ObligationSummary")
    contradicting = msgspec.structs.replace(
        summary, met=9, snapshots=3, ts_start_ns=BLUE, ts_end_ns=BLUE + MINUTE
    )
    asyncio.run(build.raw(url, latency, b"\xff not msgpack"))
    asyncio.run(build.raw(url, obligation, encode(contradicting)))
    asyncio.run(build.raw(url, obligation, encode(summary)[:-3]))  # truncated
    asyncio.run(build.raw(url, reconciliation, encode(summary)))  # another type
    table = gate(*bus)
    assert "1.0 ms" in table["tick_to_order_p99"]
    assert "1 unreadable facts skipped" in table["tick_to_order_p99"]
    assert "100.00%" in table["obligation_coverage"]
    assert "2 unreadable facts skipped" in table["obligation_coverage"]
    assert "1 unreadable facts skipped" in table["reconciliation"]
    for name in STORED:
        assert table[name].endswith("NO DATA"), table[name]

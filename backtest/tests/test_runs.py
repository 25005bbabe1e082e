"""Whole runs: determinism, the report's agreement with the fills, the latency model applied."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mm_backtest.engine import Backtest, Result
from mm_backtest.latency import Latency, constant_ms
from mm_backtest.output import write_run
from mm_backtest.params import parse_params
from mm_cli.report_html import write_page
from mm_proto import Fill


def run(
    recording: Path,
    document: dict[str, Any],
    feed_ms: float = 2,
    order_ms: float = 10,
    **changes: object,
) -> Result:
    params = parse_params(document | changes)
    return Backtest(params, [recording], constant_ms(feed_ms), constant_ms(order_ms)).run()


def test_two_runs_write_byte_identical_fills_and_reports(
    recording: Path, document: dict[str, Any], tmp_path: Path
) -> None:
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        write_run(out, run(recording, document), {"queue": "sim"}, write_page)
        outputs.append(
            {f: (out / f).read_bytes() for f in ("report.json", "fills.jsonl", "report.html")}
        )
    assert outputs[0]["fills.jsonl"].count(b"\n") > 50
    assert outputs[0] == outputs[1]


def test_the_report_counts_every_fill_and_its_components_add_up(
    recording: Path, document: dict[str, Any], tmp_path: Path
) -> None:
    result = run(recording, document)
    document = write_run(tmp_path, result, {})
    fills = [
        msgspec.json.decode(line, type=Fill)
        for line in (tmp_path / "fills.jsonl").read_bytes().splitlines()
    ]
    assert len(fills) == len(result.fills) == document["backtest"]["fills"]
    assert sum(row["quoting"]["fills"] for row in document["symbols"].values()) == len(fills)
    total = document["total"]
    parts = sum(Decimal(total[key]) for key in ("spread", "fees", "inventory", "funding"))
    assert parts == Decimal(total["net"])
    fees = -sum(Decimal(fill.fee) for fill in fills)  # the ledger's fees: positive is earned
    assert Decimal(total["fees"]) == fees
    assert {fill.symbol for fill in fills} == {"BTCUSDT", "ETHUSDT"}


def test_fills_reach_us_no_sooner_than_the_feed_latency(
    recording: Path, document: dict[str, Any]
) -> None:
    fills = run(recording, document, feed_ms=40, order_ms=100).fills
    assert fills
    delays = [fill.ts_received_ns - fill.ts_exchange_ns for fill in fills]
    # Venue times are whole milliseconds: a fill's delay is the latency within 1 ms.
    assert min(delays) >= 39_000_000


def test_slower_orders_change_what_fills(recording: Path, document: dict[str, Any]) -> None:
    fast = run(recording, document, order_ms=0).fills
    slow = run(recording, document, order_ms=500).fills
    assert [f.fill_id for f in fast] != [f.fill_id for f in slow]


class _Counting(Backtest):
    """Counts the requests reaching the venue and the order-latency draws taken for them."""

    requests = 0
    draws = 0

    def _request(self, now: int, *payload: Any) -> None:
        self.requests += 1
        super()._request(now, *payload)


def test_the_orders_one_step_sends_of_one_kind_share_one_latency_draw(
    recording: Path, document: dict[str, Any]
) -> None:
    # The executor sends them as one batch request, and a measured latency is per request:
    # a draw per order would make a pair's later order wait for the slower of two draws.
    spread = Latency(tuple(ms * 1_000_000 for ms in (1, 5, 20, 80, 300)), "test")
    backtest = _Counting(parse_params(document), [recording], spread, spread)
    draw = backtest.order.draw_ns

    def counted() -> int:
        backtest.draws += 1
        return draw()

    backtest.order.draw_ns = counted  # type: ignore[method-assign]
    backtest.run()
    assert backtest.requests > 100
    assert 0 < backtest.draws < backtest.requests


def test_interrupting_keeps_the_figures_so_far(recording: Path, document: dict[str, Any]) -> None:
    params = parse_params(document)
    backtest = Backtest(params, [recording], constant_ms(2), constant_ms(10))
    calls = []

    def stop_at_first_report(done: int, _ts: int) -> None:
        calls.append(done)
        raise KeyboardInterrupt

    result = backtest.run(stop_at_first_report, every=300)
    whole = run(recording, document)
    assert result.interrupted
    assert calls == [300]
    assert 300 <= result.frames < whole.frames
    assert result.snapshots  # flushed at the interruption
    assert result.end_ns < whole.end_ns


@pytest.mark.parametrize("queue", ["sim", "probabilistic"])
def test_both_queue_models_trade(recording: Path, document: dict[str, Any], queue: str) -> None:
    assert run(recording, document, queue=queue).fills


def test_our_positions_agree_with_the_venues(recording: Path, document: dict[str, Any]) -> None:
    backtest = Backtest(parse_params(document), [recording], constant_ms(2), constant_ms(10))
    backtest.run()
    account = backtest.venue.exchange.accounts[1001]
    venue = {
        key[1]: int(position.size / position.instrument.qty_step)
        for key, position in account.positions.items()
    }
    assert any(venue.values())
    assert backtest.stack.positions == venue
    assert {s: q.inventory_lots for s, q in backtest.stack.quoters.items()} == venue


def test_the_venue_feed_shows_our_orders_to_the_gateway(
    recording: Path, document: dict[str, Any]
) -> None:
    params = parse_params(document | {"feed": "venue"})
    backtest = Backtest(params, [recording], constant_ms(2), constant_ms(10))
    result = backtest.run()
    assert result.fills
    gateway = backtest.stack.books["BTCUSDT"].book
    venue = backtest.venue.state("BTCUSDT").book
    ours = {order.price_ticks for orders in venue.our_bids.values() for order in orders}
    levels = dict(gateway.levels("bid"))
    assert ours
    for price in ours:  # our resting bids are in the book the gateway built
        assert levels.get(price, 0) >= sum(o.resting_lots for o in venue.our_bids[price])


def test_two_levels_at_zero_latency_settle_instead_of_amending_forever(
    recording: Path, document: dict[str, Any]
) -> None:
    # Amending one order while another on the same side is free once made the two swap prices
    # on every push: with no latency, forever at one instant (now a StuckError, or settled).
    result = run(
        recording, document, feed_ms=0, order_ms=0, quoter=document["quoter"] | {"levels": 2}
    )
    assert result.fills
    assert result.counts["in_flight_at_end"] == 0

"""Bad inputs get a clear error or a counted drop: recordings, parameters, latencies, models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mm_backtest import cli as backtest_cli
from mm_backtest.cli import instant_ns
from mm_backtest.engine import Backtest
from mm_backtest.latency import LatencyError, constant_ms, parse_latency, read_distribution
from mm_backtest.params import ParamsError, load_document, parse_params, with_override
from mm_backtest.source import SourceError, SourceStats, read_frames
from mm_backtest.venue import ProbabilisticQueueBook
from mm_cli.app import build_parser
from mm_sim.book import BUY, SymbolBook
from mm_sim.instruments import Instrument
from mm_sim.orders import Order
from mm_sim.settings import InstrumentConfig, SimSettings

XRP_ARCHIVE = (
    Path(__file__).parents[2]
    / "services"
    / "md_gateway"
    / "tests"
    / "data"
    / "2024-12-01_XRPUSDT_ob500.jsonl"
)


def _trade(item: dict[str, str]) -> bytes:
    message = {"topic": "publicTrade.BTCUSDT", "ts": 1767225600001, "data": [item]}
    return json.dumps(message).encode()


def test_garbage_lines_and_a_truncated_tail_are_counted_and_skipped(
    recording: Path, document: dict[str, Any], tmp_path: Path
) -> None:
    source = next(recording.rglob("*.jsonl"))
    lines = source.read_bytes().splitlines()
    broken = tmp_path / "broken.jsonl"
    bad = [
        b"not json",
        b"[1, 2]",
        b'{"no": "topic"}',
        b'{"topic": "tickers.BTCUSDT", "ts": 1}',
        b'{"topic": "orderbook.50.BTCUSDT", "type": "delta"}',
        _trade({"p": "x", "v": "1", "S": "Buy"}),
        _trade({"p": "1", "v": "1", "S": "Up"}),
        b'{"topic": "orderbook.50.BTCUSDT", "ts": 1767225600002, "type": "delta", '
        b'"data": {"b": [["x", "1"]]}}',
    ]
    broken.write_bytes(b"\n".join(lines[:100] + bad + lines[100:]) + b'\n{"topic": "orderbook.5')
    params = parse_params(document)
    result = Backtest(params, [broken], constant_ms(1), constant_ms(1)).run()
    # The recorder's reader drops what is not a JSON object line (and the truncated tail).
    assert result.skipped == {"other_topic": 1, "truncated_line": 1, "unreadable_line": 3}
    assert result.counts["unreadable_frames_at_venue"] == 4  # 2 trades, 2 books
    assert result.counts["bad_trade_frames"] == 2
    assert result.counts["refused_book_frames"] >= 1
    assert result.frames == len(lines) + 4


def test_a_missing_recording_or_an_empty_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such recording"):
        list(read_frames([tmp_path / "absent.jsonl"], SourceStats()))
    with pytest.raises(SourceError, match=r"expected \*.jsonl"):
        list(read_frames([tmp_path], SourceStats()))


def test_frames_of_several_files_come_in_venue_time_order(recording: Path) -> None:
    times = [frame.ts_ns for frame in read_frames([recording], SourceStats())]
    assert len({frame for frame in times}) > 100
    assert times == sorted(times)


def test_the_window_keeps_only_frames_inside_it(recording: Path) -> None:
    every = list(read_frames([recording], SourceStats()))
    start, end = every[100].ts_ns, every[200].ts_ns
    inside = list(read_frames([recording], SourceStats(), start, end))
    assert inside
    assert all(start <= frame.ts_ns < end for frame in inside)


def test_parameters_are_checked_by_the_production_models(document: dict[str, Any]) -> None:
    with pytest.raises(ParamsError, match="min_spread_bps"):
        parse_params(with_override(document, "min_spread_bps", 0))
    with pytest.raises(ParamsError, match="max_position_lots"):
        parse_params(with_override(document, "risk.default.max_position_lots", -1))
    with pytest.raises(ParamsError, match="unknown_section"):
        parse_params(document | {"unknown_section": {}})
    with pytest.raises(ParamsError, match="instruments"):
        parse_params({"quoter": {}})
    with pytest.raises(ParamsError, match="not one of the instruments"):
        parse_params(document | {"quoter_symbols": {"DOGEUSDT": {"levels": 2}}})


def test_a_parameters_file_that_is_not_a_json_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("[1]")
    with pytest.raises(ParamsError, match="JSON object"):
        load_document(path)
    path.write_text("{")
    with pytest.raises(ParamsError, match="not JSON"):
        load_document(path)


def test_latency_is_a_constant_or_a_file_of_measurements(tmp_path: Path) -> None:
    assert parse_latency("5").samples_ns == (5_000_000,)
    assert parse_latency("2.5ms").samples_ns == (2_500_000,)
    path = tmp_path / "acks.txt"
    path.write_text("# ack latencies\n1\n2\n\n3 # slow\n")
    latency = parse_latency(f"@{path}")
    assert latency.samples_ns == (1_000_000, 2_000_000, 3_000_000)
    draws = [latency.sampler(4).draw_ns() for _ in range(3)]
    first, second = latency.sampler(4), latency.sampler(4)
    assert [first.draw_ns() for _ in range(50)] == [second.draw_ns() for _ in range(50)]
    assert set(draws) <= set(latency.samples_ns)


@pytest.mark.parametrize("text", ["-1", "nan", "fast", "70000"])
def test_a_latency_that_is_not_milliseconds_in_range_is_refused(text: str) -> None:
    with pytest.raises(LatencyError):
        parse_latency(text)


def test_a_latency_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    path = tmp_path / "acks.txt"
    path.write_text("1\nslow\n")
    with pytest.raises(LatencyError, match=r"acks\.txt:2"):
        read_distribution(path)
    path.write_text("# nothing\n")
    with pytest.raises(LatencyError, match="no latencies"):
        read_distribution(path)


def _resting(book: SymbolBook, ahead_of_us: int) -> Order:
    config = InstrumentConfig(symbol="BTCUSDT", base_coin="BTC")
    order = Order(
        order_id="1",
        order_link_id="a",
        uid=1,
        instrument=Instrument(config),
        side=BUY,
        order_type="Limit",
        time_in_force="PostOnly",
        price_ticks=100,
        qty_lots=10,
        created_ms=0,
        updated_ms=0,
    )
    book.set_market_level(BUY, 100, ahead_of_us)
    book.rest(order)
    book.set_market_level(BUY, 100, 2 * ahead_of_us)  # as much again joins behind us
    return order


def test_the_simulators_queue_takes_cancels_from_behind_us_first() -> None:
    order_book = SymbolBook()
    order = _resting(order_book, 100)
    order_book.set_market_level(BUY, 100, 150)
    assert order.queue_ahead_lots == 100
    order_book.set_market_level(BUY, 100, 60)
    assert order.queue_ahead_lots == 60


def test_the_probabilistic_queue_takes_cancels_from_ahead_by_the_power_rule() -> None:
    book = ProbabilisticQueueBook(power=2.0)
    order = _resting(book, 100)
    book.set_market_level(BUY, 100, 150)  # 50 cancelled: half from ahead (100² vs 100²)
    assert order.queue_ahead_lots == 75
    book.set_market_level(BUY, 100, 200)  # growth joins behind
    assert order.queue_ahead_lots == 75


def test_a_real_archive_replays_to_its_book_at_the_venue_and_at_the_gateway() -> None:
    xrp = InstrumentConfig.model_validate(
        {
            "symbol": "XRPUSDT",
            "base_coin": "XRP",
            "tick_size": "0.0001",
            "qty_step": "1",
            "min_order_qty": "1",
            "max_order_qty": "1000000",
            "min_notional_value": "5",
        }
    )
    document = {"instruments": [xrp.model_dump(mode="json")], "depth": 500}
    backtest = Backtest(parse_params(document), [XRP_ARCHIVE], constant_ms(1), constant_ms(1))
    result = backtest.run()
    assert result.frames == 50
    assert not result.counts.get("refused_book_frames")
    venue_book = backtest.venue.state("XRPUSDT").book
    gateway = backtest.stack.books["XRPUSDT"].book
    best = venue_book.best_market(BUY)
    assert best is not None
    assert gateway.best_bid == (best, venue_book.bids[best])
    last = json.loads(XRP_ARCHIVE.read_text().splitlines()[-1])
    assert gateway.last_update_id == last["data"]["u"]
    assert not result.fills  # the archive has no trades to fill us


SHIPPED = Path(__file__).parents[2] / "data" / "recordings" / "sim-synthetic"


def test_the_shipped_recorder_recording_replays(document: dict[str, Any]) -> None:
    linear = [c for c in SimSettings().instruments if c.category == "linear"]
    document = document | {"instruments": [c.model_dump(mode="json") for c in linear]}
    stats = SourceStats()
    frames = list(read_frames([SHIPPED], stats))
    assert {frame.symbol for frame in frames} == {"BTCUSDT", "ETHUSDT"}
    assert [f.ts_ns for f in frames] == sorted(f.ts_ns for f in frames)  # receive-time order
    result = Backtest(parse_params(document), [SHIPPED], constant_ms(2), constant_ms(10)).run()
    assert result.frames == len(frames)
    assert not result.counts.get("refused_book_frames")
    assert not result.counts.get("bad_trade_frames")
    assert result.counts["other_depth_frames"] > 0  # orderbook.1 is recorded too
    assert result.skipped["other_topic"] > 0  # tickers


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "yesterday"])
def test_an_instant_that_is_no_time_is_refused(text: str) -> None:
    with pytest.raises(ParamsError, match="expected ISO 8601 or Unix seconds"):
        instant_ns(text)


def test_a_window_that_ends_before_it_starts_is_refused(
    recording: Path, tmp_path: Path, document: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps(document))
    window = ["--from", "2026-12-03T04:00:00Z", "--to", "2026-12-03T03:00:00Z"]
    arguments = build_parser().parse_args(
        ["backtest", "--data", str(recording), "--params", str(params), "--out", "x", *window]
    )
    assert backtest_cli.run(arguments, None) == 1
    said = capsys.readouterr().err
    assert "--from must be before --to" in said, said

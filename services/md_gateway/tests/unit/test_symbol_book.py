"""SymbolBook on real Bybit frames: what gets published, and bad frames counted, never raised."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from md_gateway.feed_state import SymbolFeed
from md_gateway.symbol_book import SymbolBook
from mm_orderbook import OrderBook
from mm_proto import FeedState, InstrumentDefinition

DATA = Path(__file__).parent.parent / "data"
ARCHIVE = DATA / "2024-12-01_XRPUSDT_ob500.jsonl"
XRP = InstrumentDefinition(
    venue="bybit",
    category="linear",
    symbol="XRPUSDT",
    base_coin="XRP",
    quote_coin="USDT",
    status="Trading",
    tick_size="0.0001",
    lot_size="1",
    min_qty_lots=1,
    max_qty_lots=1_000_000,
    min_notional="5",
)


def frames() -> list[bytes]:
    return [line.encode() for line in ARCHIVE.read_text().splitlines() if line.strip()]


def new_book(depth_interval_s: float = 0.0, top_levels: int = 25) -> SymbolBook:
    feed = SymbolFeed("XRPUSDT", stale_after_s=5.0, resync_timeout_s=5.0, now_s=0.0)
    return SymbolBook(XRP, feed, 500, top_levels, depth_interval_s)


def reference_levels(lines: list[bytes]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """A plain-Python replay of snapshot + deltas, independent of the Rust book."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for line in lines:
        message = json.loads(line)
        if message["type"] == "snapshot":
            bids.clear()
            asks.clear()
        for side, levels in ((bids, message["data"]["b"]), (asks, message["data"]["a"])):
            for price, size in levels:
                if Decimal(size) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(size)
    return bids, asks


def as_ticks(levels: dict[Decimal, Decimal], best_first_reverse: bool) -> list[tuple[int, int]]:
    ordered = sorted(levels.items(), reverse=best_first_reverse)
    return [(int(price / Decimal("0.0001")), int(size)) for price, size in ordered]


def test_every_frame_of_a_real_stream_is_published_and_the_book_matches_a_replay() -> None:
    book = new_book()
    lines = frames()

    results = [book.apply(line, 0.1) for line in lines]

    assert [result.publishable for result in results] == [True] * len(lines)
    assert results[0].kind == "reset"
    assert {result.kind for result in results[1:]} == {"applied"}
    assert results[-1].update_id == 20254918
    bids, asks = reference_levels(lines)
    reference = OrderBook("XRPUSDT", "0.0001", "1", depth=500)
    reference.apply_snapshot(as_ticks(bids, True), as_ticks(asks, False), 20254918)
    assert book.book.fingerprint(500) == reference.fingerprint(500)
    top = book.top(results[-1].update_id, 123)
    assert (top.bid_price_ticks, top.bid_size_lots) == as_ticks(bids, True)[0]
    assert (top.ask_price_ticks, top.ask_size_lots) == as_ticks(asks, False)[0]
    assert top.ts_exchange_ns == json.loads(lines[-1])["ts"] * 1_000_000
    assert top.ts_gateway_ns == 123


def test_the_published_depth_is_the_best_levels_best_first() -> None:
    book = new_book(top_levels=5)
    lines = frames()
    for line in lines:
        book.apply(line, 0.1)

    depth = book.depth(20254918, 5)

    bids, asks = reference_levels(lines)
    assert (
        list(zip(depth.bid_prices_ticks, depth.bid_sizes_lots, strict=True))
        == as_ticks(bids, True)[:5]
    )
    assert (
        list(zip(depth.ask_prices_ticks, depth.ask_sizes_lots, strict=True))
        == as_ticks(asks, False)[:5]
    )


def test_a_lost_delta_stops_publishing_until_a_fresh_snapshot() -> None:
    book = new_book()
    lines = frames()
    for line in lines[:10]:
        assert book.apply(line, 0.1).publishable

    gap = book.apply(lines[11], 0.2)

    assert not gap.publishable
    assert gap.kind == "gap"
    assert gap.change is not None
    assert gap.change.state is FeedState.STALE
    assert gap.change.resync
    assert gap.change.reason == "gap: expected u=20254879, received u=20254880"
    for line in lines[12:20]:
        later = book.apply(line, 0.3)
        assert not later.publishable
        assert later.change is None

    fresh = book.apply(lines[0], 0.4)

    assert fresh.publishable
    assert fresh.change is not None
    assert fresh.change.state is FeedState.LIVE


def test_a_duplicate_frame_is_ignored_and_the_book_stays_live() -> None:
    book = new_book()
    lines = frames()
    for line in lines[:5]:
        book.apply(line, 0.1)
    before = book.book.fingerprint(500)

    duplicate = book.apply(lines[4], 0.2)

    assert duplicate.kind == "stale"
    assert not duplicate.publishable
    assert duplicate.change is None
    assert book.feed.live
    assert book.book.fingerprint(500) == before


def test_an_update_id_of_one_mid_stream_replaces_the_book_and_stays_live() -> None:
    book = new_book()
    for line in frames()[:5]:
        book.apply(line, 0.1)
    restart = json.dumps(
        {
            "topic": "orderbook.500.XRPUSDT",
            "type": "delta",
            "ts": 1733011300000,
            "data": {"s": "XRPUSDT", "b": [["1.9000", "10"]], "a": [["1.9100", "20"]], "u": 1},
        }
    ).encode()

    result = book.apply(restart, 0.2)

    assert result.kind == "reset"
    assert result.publishable
    assert result.update_id == 1
    assert book.book.best_bid == (19000, 10)
    assert book.book.best_ask == (19100, 20)


BAD_FRAMES = {
    "not json": b"\x00\xffgarbage",
    "truncated": frames()[1][:100],
    "wrong symbol": frames()[1].replace(b'"s":"XRPUSDT"', b'"s":"BTCUSDT"'),
    "off the tick grid": frames()[1].replace(b'"1.9531"', b'"1.95315"', 1),
    "negative size": frames()[1].replace(b'"6198"', b'"-6198"', 1),
    "unknown type": frames()[1].replace(b'"type":"delta"', b'"type":"patch"'),
    "empty": b"",
    "another depth": frames()[1].replace(b'"orderbook.500.XRPUSDT"', b'"orderbook.1.XRPUSDT"'),
    "no asks": frames()[1].replace(b'"a":[', b'"x":['),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_a_bad_frame_is_refused_leaving_the_book_untouched_and_the_symbol_stale(
    name: str,
) -> None:
    book = new_book()
    book.apply(frames()[0], 0.1)
    before = book.book.fingerprint(500)

    result = book.apply(BAD_FRAMES[name], 0.2)

    assert result.kind == "refused"
    assert not result.publishable
    assert result.error
    assert result.change is not None
    assert result.change.state is FeedState.STALE
    assert result.change.resync
    assert result.change.reason.startswith("refused frame: ")
    assert book.book.fingerprint(500) == before
    assert not book.apply(frames()[1], 0.3).publishable


def test_depth_is_due_at_most_once_per_interval() -> None:
    book = new_book(depth_interval_s=0.1)

    assert book.depth_due(1_000_000_000)
    assert not book.depth_due(1_050_000_000)
    assert book.depth_due(1_100_000_000)


def test_depth_is_due_on_every_frame_with_a_zero_interval() -> None:
    book = new_book(depth_interval_s=0.0)

    assert all(book.depth_due(1_000_000_000) for _ in range(3))


def test_an_empty_side_is_published_as_zero_price_and_size() -> None:
    book = new_book()
    one_sided = json.dumps(
        {
            "topic": "orderbook.500.XRPUSDT",
            "type": "snapshot",
            "ts": 1733011300000,
            "data": {"s": "XRPUSDT", "b": [["1.9000", "10"]], "a": [], "u": 7},
        }
    ).encode()
    book.apply(one_sided, 0.1)

    top = book.top(7, 1)

    assert (top.bid_price_ticks, top.bid_size_lots) == (19000, 10)
    assert (top.ask_price_ticks, top.ask_size_lots) == (0, 0)


def test_the_status_message_carries_state_reason_and_last_update() -> None:
    book = new_book()
    book.apply(frames()[0], 0.1)

    status = book.status(99)

    assert status.state is FeedState.LIVE
    assert status.symbol == "XRPUSDT"
    assert status.last_update_id == 20254869
    assert status.reason == "snapshot applied at u=20254869"
    assert status.ts_event_ns == 99
    assert book.book_subject == "md.book.bybit.linear.XRPUSDT"
    assert book.status_subject == "md.status.bybit.linear.XRPUSDT"


def test_marks_are_the_tops_whose_mid_changed_plus_one_a_second_on_a_quiet_mid() -> None:
    book = new_book()
    marks = []
    for number, line in enumerate(frames()[:2000]):
        result = book.apply(line, now_s=0.0)
        if result.publishable:
            top = book.top(result.update_id, number)
            if book.mark_due(top):
                marks.append(top)
    assert marks
    mids = [m.bid_price_ticks + m.ask_price_ticks for m in marks]
    for before, after, mid_before, mid_after in zip(marks, marks[1:], mids, mids[1:], strict=False):
        gap = after.ts_exchange_ns - before.ts_exchange_ns
        assert mid_after != mid_before or gap >= 1_000_000_000
    assert all(m.bid_price_ticks > 0 and m.ask_price_ticks > m.bid_price_ticks for m in marks)


def test_a_top_without_a_mid_is_never_a_mark() -> None:
    book = new_book()
    top = book.top(1, 1)  # empty book: no bid, no ask
    assert not book.mark_due(top)

"""mm_orderbook on recorded Bybit frames, checked step by step against the reference in conftest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mm_orderbook import BookError, OrderBook, OutcomeKind

KINDS = {
    "applied": OutcomeKind.Applied,
    "reset": OutcomeKind.Reset,
    "gap": OutcomeKind.Gap,
    "stale": OutcomeKind.Stale,
}
XRP = ("XRPUSDT", "0.0001", "1")
XRP_DEPTH = 500


def assert_same(book: OrderBook, reference: Any) -> None:
    assert book.levels("bid") == reference.sorted_bids()
    assert book.levels("ask") == reference.sorted_asks()
    assert book.last_update_id == reference.last_update_id


def replayed(frames: list[bytes], depth_limit: int | None = None) -> OrderBook:
    book = OrderBook(*XRP, depth=XRP_DEPTH, depth_limit=depth_limit)
    for frame in frames:
        book.apply_frame(frame)
    return book


def test_xrp_stream_matches_the_reference_at_every_step(
    xrp_frames: list[bytes], make_reference: Callable[..., Any]
) -> None:
    book, reference = OrderBook(*XRP, depth=XRP_DEPTH), make_reference(*XRP, XRP_DEPTH)
    kinds = []
    for frame in xrp_frames:
        message = json.loads(frame)
        outcome = book.apply_frame(frame)
        assert outcome.kind == KINDS[reference.apply(message)]
        assert outcome.update_id == message["data"]["u"]
        kinds.append(outcome.kind)
        assert_same(book, reference)
        best_bid, best_ask = book.best_bid, book.best_ask
        assert best_bid is not None
        assert best_ask is not None
        assert best_bid[0] < best_ask[0]
        assert (book.ts_exchange_ms, book.cts_ms) == (message["ts"], message["cts"])
        assert book.sequence == message["data"]["seq"]
    assert kinds == [OutcomeKind.Reset] + [OutcomeKind.Applied] * 49
    assert (book.bid_count, book.ask_count) == (500, 500)
    assert book.last_update_id == 20254918


def test_xrp_queries_match_formulas_on_the_reference(
    xrp_frames: list[bytes], make_reference: Callable[..., Any]
) -> None:
    book, reference = replayed(xrp_frames), make_reference(*XRP, XRP_DEPTH)
    for frame in xrp_frames:
        reference.apply(json.loads(frame))
    bids, asks = reference.sorted_bids(), reference.sorted_asks()
    (bid, bid_size), (ask, ask_size) = bids[0], asks[0]
    assert book.best_bid == (bid, bid_size)
    assert book.best_ask == (ask, ask_size)
    assert book.mid_ticks == (bid + ask) / 2
    assert book.spread_ticks == ask - bid
    assert book.spread_bps == pytest.approx((ask - bid) / ((bid + ask) / 2) * 10_000)
    assert book.microprice == pytest.approx(
        (bid * ask_size + ask * bid_size) / (bid_size + ask_size)
    )
    top_bid, top_ask = sum(s for _, s in bids[:5]), sum(s for _, s in asks[:5])
    assert book.imbalance(5) == pytest.approx((top_bid - top_ask) / (top_bid + top_ask))
    assert book.top_levels(10) == (
        [p for p, _ in bids[:10]],
        [s for _, s in bids[:10]],
        [p for p, _ in asks[:10]],
        [s for _, s in asks[:10]],
    )
    assert book.levels("ask", 3) == asks[:3]


def walk_vwap(levels: list[tuple[int, int]], quantity: int) -> float:
    remaining, notional = quantity, 0
    for price, size in levels:
        take = min(remaining, size)
        notional, remaining = notional + price * take, remaining - take
        if remaining == 0:
            break
    return notional / quantity


def test_xrp_vwap_and_depth_match_the_reference(
    xrp_frames: list[bytes], make_reference: Callable[..., Any]
) -> None:
    book, reference = replayed(xrp_frames), make_reference(*XRP, XRP_DEPTH)
    for frame in xrp_frames:
        reference.apply(json.loads(frame))
    asks, bids = reference.sorted_asks(), reference.sorted_bids()
    for quantity in (1, 10_000, 250_000, 1_000_000):
        assert book.vwap("ask", qty_lots=quantity) == pytest.approx(walk_vwap(asks, quantity))
        assert book.vwap("bid", qty_lots=quantity) == pytest.approx(walk_vwap(bids, quantity))
    assert book.vwap("bid", qty_lots=sum(s for _, s in bids) + 1) is None
    first_two = asks[0][0] * asks[0][1] + asks[1][0] * asks[1][1]
    assert book.vwap("ask", notional=first_two) == pytest.approx(
        first_two / (asks[0][1] + asks[1][1])
    )
    mid = (bids[0][0] + asks[0][0]) / 2
    for bps in (0.0, 5.0, 25.0, 100.0):
        inside = [(p, s) for p, s in bids if p >= mid * (1 - bps / 10_000)]
        expected = (sum(s for _, s in inside), sum(p * s for p, s in inside))
        assert book.depth_within_bps("bid", bps) == expected
        inside = [(p, s) for p, s in asks if p <= mid * (1 + bps / 10_000)]
        expected = (sum(s for _, s in inside), sum(p * s for p, s in inside))
        assert book.depth_within_bps("ask", bps) == expected


def test_fingerprints_compare_books_cheaply(xrp_frames: list[bytes]) -> None:
    book, twin = replayed(xrp_frames), replayed(xrp_frames)
    assert book.fingerprint(50) == twin.fingerprint(50)
    partial = replayed(xrp_frames[:-1])
    assert partial.fingerprint(500) != book.fingerprint(500)


def test_replaying_the_snapshot_resets_the_book(xrp_frames: list[bytes]) -> None:
    book = replayed(xrp_frames)
    fresh = replayed(xrp_frames[:1])
    outcome = book.apply_frame(xrp_frames[0])
    assert outcome.kind == OutcomeKind.Reset
    assert outcome.changed
    assert book.levels("bid") == fresh.levels("bid")
    assert book.last_update_id == 20254869


def test_stale_and_gap_frames_leave_the_book_untouched(xrp_frames: list[bytes]) -> None:
    book = replayed(xrp_frames[:3])
    before = (book.levels("bid"), book.levels("ask"), book.ts_exchange_ms)
    stale = book.apply_frame(xrp_frames[2])
    assert (stale.kind, stale.update_id, stale.last_id) == (OutcomeKind.Stale, 20254871, 20254871)
    gap = book.apply_frame(xrp_frames[4])
    assert (gap.kind, gap.update_id, gap.expected_id) == (OutcomeKind.Gap, 20254873, 20254872)
    assert not gap.changed
    assert (book.levels("bid"), book.levels("ask"), book.ts_exchange_ms) == before
    assert book.apply_frame(xrp_frames[3]).kind == OutcomeKind.Applied


def test_a_delta_before_any_snapshot_is_a_gap(xrp_frames: list[bytes]) -> None:
    book = OrderBook(*XRP, depth=XRP_DEPTH)
    outcome = book.apply_frame(xrp_frames[1])
    assert (outcome.kind, outcome.expected_id) == (OutcomeKind.Gap, None)
    assert book.bid_count == 0
    assert book.last_update_id is None


def test_depth_limit_keeps_the_best_levels(xrp_frames: list[bytes]) -> None:
    limited, full = replayed(xrp_frames, depth_limit=50), replayed(xrp_frames)
    assert (limited.bid_count, limited.ask_count) == (50, 50)
    assert limited.depth_limit == 50
    assert limited.top_levels(50) == full.top_levels(50)


def test_recorded_book_frames_parse_and_match_the_reference(
    recorded_stream: Any, make_reference: Callable[..., Any]
) -> None:
    stream = recorded_stream
    book = OrderBook(stream.symbol, stream.tick_size, stream.lot_size, depth=stream.depth)
    reference = make_reference(stream.symbol, stream.tick_size, stream.lot_size, stream.depth)
    first = stream.frames[0][1]
    if first["type"] == "delta":
        # A delta-only file: start from an empty snapshot just before it so its levels apply.
        empty = {**first, "type": "snapshot", "data": {**first["data"], "b": [], "a": []}}
        empty["data"]["u"] = first["data"]["u"] - 1
        reference.apply(empty)
        book.apply_snapshot([], [], empty["data"]["u"])
    for raw, message in stream.frames:
        outcome = book.apply_frame(raw)
        assert outcome.kind == KINDS[reference.apply(message)]
        assert_same(book, reference)


def test_a_re_marshalled_frame_is_refused_with_a_clear_error(data_dir: Path) -> None:
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    with pytest.raises(BookError, match=r"expected a \[price, size\] pair"):
        book.apply_frame((data_dir / "hirokisan_public_v5_orderbook.json").read_bytes())
    assert book.last_update_id is None
    assert book.bid_count == 0

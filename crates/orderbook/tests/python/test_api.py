"""The mm_orderbook Python API: errors, atomicity, level-list applies, outcomes, conversions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mm_orderbook import (
    ApplyOutcome,
    BookError,
    OrderBook,
    OutcomeKind,
    price_to_ticks,
    qty_to_lots,
)

SNAPSHOT: dict[str, Any] = {
    "topic": "orderbook.50.BTCUSDT",
    "type": "snapshot",
    "ts": 1700000000123,
    "data": {
        "s": "BTCUSDT",
        "b": [["60000.10", "1.250"], ["59999.90", "0.400"]],
        "a": [["60000.20", "0.900"], ["60000.50", "2.000"]],
        "u": 100,
        "seq": 7961638724,
    },
    "cts": 1700000000120,
}


def frame(kind: str = "delta", u: int = 101, **data: object) -> bytes:
    body: dict[str, Any] = {**SNAPSHOT["data"], "b": [], "a": [], "u": u, **data}
    message = {**SNAPSHOT, "type": kind, "data": body}
    return json.dumps(message).encode()


@pytest.fixture
def book() -> OrderBook:
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    assert book.apply_frame(json.dumps(SNAPSHOT).encode()).kind == OutcomeKind.Reset
    return book


def state(book: OrderBook) -> tuple[object, ...]:
    return (book.levels("bid"), book.levels("ask"), book.last_update_id, book.ts_exchange_ms)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b'{"topic":"orderbook.50.BTCUSDT"} trailing', "invalid JSON"),
        (frame(b=[["60000.00"]]), r"expected ','"),
        (frame().replace(b"orderbook.50.BTCUSDT", b"orderbook.50.ETHUSDT"), "wrong topic"),
        (frame().replace(b'"s": "BTCUSDT"', b'"s": "ETHUSDT"'), "wrong symbol"),
        (frame(kind="update"), "unknown frame type"),
        (frame(b=[["NaN", "1"]]), 'invalid decimal "NaN"'),
        (frame(b=[["inf", "1"]]), 'invalid decimal "inf"'),
        (frame(b=[["60000.00", "-1"]]), 'negative value "-1"'),
        (
            frame(b=[["60000.05", "1"]]),
            'price "60000.05" is off the grid: expected a multiple of 0.10',
        ),
        (frame(a=[["60000.20", "0.0005"]]), 'size "0.0005" is off the grid'),
        (frame(b=[["60000.30", "1"]]), "crossed book after update 101"),
        (frame(b=[["59000.00", "1"]], a=[["59999.90", "1"]]), "crossed book"),
        (frame(kind="snapshot", b=[["2.00", "1"]], a=[["1.00", "1"]]), "crossed book"),
        (frame().replace(b"orderbook.50.", b"orderbook.1."), "wrong depth"),
        (frame().replace(b'"a": [], ', b""), 'frame 101 has no "a" levels'),
        (frame().replace(b'"b": [], ', b""), 'frame 101 has no "b" levels'),
    ],
)
def test_malformed_frames_raise_and_change_nothing(
    book: OrderBook, data: bytes, message: str
) -> None:
    before = state(book)
    with pytest.raises(BookError, match=message):
        book.apply_frame(data)
    assert state(book) == before
    assert book.apply_frame(frame(u=101)).kind == OutcomeKind.Applied


def test_book_error_is_a_value_error() -> None:
    assert issubclass(BookError, ValueError)
    with pytest.raises(ValueError, match="tick size"):
        OrderBook("BTCUSDT", "0", "0.001", depth=50)
    with pytest.raises(BookError, match="lot size"):
        OrderBook("BTCUSDT", "0.1", "-1", depth=50)
    for depth in (0, -5):
        with pytest.raises(BookError, match=f"depth limit {depth}"):
            OrderBook("BTCUSDT", "0.1", "1", depth=50, depth_limit=depth)


def test_level_lists_apply_with_the_same_rules(book: OrderBook) -> None:
    outcome = book.apply_delta([(600001, 0), (600000, 300)], [], 101)
    assert (outcome.kind, outcome.update_id, outcome.changed) == (OutcomeKind.Applied, 101, True)
    assert book.levels("bid") == [(600000, 300), (599999, 400)]
    before = state(book)
    with pytest.raises(BookError, match="expected a positive price"):
        book.apply_delta([(0, 1)], [], 102)
    with pytest.raises(BookError, match="size -1 lots"):
        book.apply_delta([(600000, -1)], [], 102)
    with pytest.raises(BookError, match="crossed"):
        book.apply_delta([(600010, 1)], [], 102)
    assert state(book) == before
    reset = book.apply_snapshot([(10, 1)], [(20, 2)], 5)
    assert (reset.kind, book.best_bid, book.best_ask) == (OutcomeKind.Reset, (10, 1), (20, 2))


def test_outcomes_describe_sequencing(book: OrderBook) -> None:
    stale = book.apply_frame(frame(u=100))
    assert (stale.kind, stale.update_id, stale.last_id, stale.expected_id) == (
        OutcomeKind.Stale,
        100,
        100,
        None,
    )
    gap = book.apply_frame(frame(u=105))
    assert (gap.kind, gap.update_id, gap.expected_id) == (OutcomeKind.Gap, 105, 101)
    restart = book.apply_frame(frame(u=1, b=[["1.00", "1"]]))
    assert restart.kind == OutcomeKind.Reset
    assert book.levels("ask") == []
    assert isinstance(restart, ApplyOutcome)
    assert restart == book.apply_frame(frame(kind="snapshot", u=1, b=[["1.00", "1"]]))
    assert "Reset" in repr(restart)
    assert len({OutcomeKind.Applied, OutcomeKind.Gap, OutcomeKind.Applied}) == 2


def test_query_arguments_are_checked(book: OrderBook) -> None:
    with pytest.raises(BookError, match="exactly one of qty_lots or notional"):
        book.vwap("bid")
    with pytest.raises(BookError, match="exactly one"):
        book.vwap("bid", qty_lots=1, notional=1)
    with pytest.raises(BookError, match='invalid side "mid"'):
        book.vwap("mid", qty_lots=1)  # type: ignore[arg-type]
    with pytest.raises(BookError, match="vwap qty_lots -1: expected zero or more"):
        book.vwap("ask", qty_lots=-1)
    with pytest.raises(BookError, match="vwap notional"):
        book.vwap("ask", notional=-(2**70))
    assert book.vwap("ask", qty_lots=0) is None
    with pytest.raises(BookError, match="basis points"):
        book.depth_within_bps("ask", float("nan"))
    with pytest.raises(TypeError, match="bytes or str, received bytearray"):
        book.apply_frame(bytearray(frame()))  # type: ignore[arg-type]


def test_empty_book_queries_return_none() -> None:
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    assert (book.best_bid, book.mid_ticks, book.microprice, book.spread_bps) == (None,) * 4
    assert book.depth_within_bps("bid", 10) is None
    assert book.imbalance() is None
    assert book.top_levels(5) == ([], [], [], [])
    assert book.top() == (0, 0, 0, 0, 0)
    assert (book.symbol, book.tick_size, book.lot_size) == ("BTCUSDT", "0.10", "0.001")


def test_decimal_conversions_are_exact() -> None:
    assert price_to_ticks("65000.10", "0.10") == 650001
    assert price_to_ticks("1.95310", "0.0001") == 19531
    assert qty_to_lots("1.250", "0.001") == 1250
    with pytest.raises(BookError, match="off the grid"):
        price_to_ticks("65000.15", "0.10")
    with pytest.raises(BookError, match="invalid decimal"):
        qty_to_lots("1e3", "1")


def without_side(message: dict[str, Any], key: str) -> bytes:
    data = {name: value for name, value in message["data"].items() if name != key}
    return json.dumps({**message, "data": data}).encode()


@pytest.mark.parametrize("key", ["b", "a"])
def test_a_snapshot_without_a_side_is_refused_instead_of_wiping_it(
    book: OrderBook, key: str
) -> None:
    before = state(book)
    resent = {**SNAPSHOT, "data": {**SNAPSHOT["data"], "u": 200}}
    with pytest.raises(BookError, match=f'frame 200 has no "{key}" levels'):
        book.apply_frame(without_side(resent, key))
    assert state(book) == before
    assert (book.bid_count, book.ask_count) == (2, 2)


def test_a_snapshot_of_another_depth_is_refused_and_its_own_book_takes_it(
    book: OrderBook,
) -> None:
    one_level = {
        **SNAPSHOT,
        "topic": "orderbook.1.BTCUSDT",
        "data": {**SNAPSHOT["data"], "b": [["60000.00", "1"]], "a": [["60000.30", "1"]]},
    }
    before = state(book)
    with pytest.raises(BookError, match=r'wrong depth in topic "orderbook.1.BTCUSDT": expected 50'):
        book.apply_frame(json.dumps(one_level).encode())
    assert state(book) == before
    top = OrderBook("BTCUSDT", "0.10", "0.001", depth=1)
    assert (top.depth, top.topic, top.depth_limit) == (1, "orderbook.1.BTCUSDT", 1)
    assert top.apply_frame(json.dumps(one_level).encode()).kind == OutcomeKind.Reset
    assert (top.best_bid, top.best_ask) == ((600000, 1000), (600003, 1000))
    with pytest.raises(BookError, match="wrong depth"):
        top.apply_frame(json.dumps(SNAPSHOT).encode())


def test_top_is_the_best_levels_and_the_venue_time_in_one_call(book: OrderBook) -> None:
    bid, ask = book.best_bid, book.best_ask
    assert bid is not None
    assert ask is not None
    assert book.top() == (*bid, *ask, book.ts_exchange_ms)
    assert book.top() == (600001, 1250, 600002, 900, 1700000000123)
    emptied = frame(a=[["60000.20", "0"], ["60000.50", "0"]])
    assert book.apply_frame(emptied).kind == OutcomeKind.Applied
    assert book.top() == (600001, 1250, 0, 0, 1700000000123)


def test_a_book_needs_a_positive_depth() -> None:
    for depth in (0, -1, 2**40):
        with pytest.raises(BookError, match=f"book depth {depth}"):
            OrderBook("BTCUSDT", "0.10", "0.001", depth=depth)
    with pytest.raises(TypeError):
        OrderBook("BTCUSDT", "0.10", "0.001")  # type: ignore[call-arg]
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=200, depth_limit=20)
    assert (book.depth, book.topic, book.depth_limit) == (200, "orderbook.200.BTCUSDT", 20)


def test_text_frames_apply_like_their_bytes() -> None:
    from_text = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    from_bytes = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    snapshot = json.dumps(SNAPSHOT)
    assert from_text.apply_frame(snapshot) == from_bytes.apply_frame(snapshot.encode())
    delta = frame(b=[["60000.00", "0.300"]]).decode()
    assert from_text.apply_frame(delta) == from_bytes.apply_frame(delta.encode())
    assert state(from_text) == state(from_bytes)
    accented = json.dumps({**json.loads(frame(u=102)), "note": "prix élevé"}, ensure_ascii=False)
    assert from_text.apply_frame(accented).kind == OutcomeKind.Applied
    assert from_bytes.apply_frame(accented.encode()).kind == OutcomeKind.Applied
    before = state(from_text)
    with pytest.raises(BookError, match="not valid Unicode"):
        from_text.apply_frame(accented.replace("é", "\ud800"))
    with pytest.raises(BookError, match="wrong depth"):
        from_text.apply_frame(delta.replace("orderbook.50.", "orderbook.200."))
    assert state(from_text) == before


def test_depth_within_bps_saturates_instead_of_wrapping_at_absurd_sizes() -> None:
    book = OrderBook("BTCUSDT", "0.10", "0.001", depth=50)
    top, size = 2**63 - 1, 2**63 - 1
    book.apply_snapshot([(top - k, size) for k in range(1, 9)], [(top, size)], 1)
    assert book.depth_within_bps("bid", 10_000.0) == (2**64 - 1, 2**128 - 1)
    assert book.depth_within_bps("ask", 10_000.0) == (size, top * size)
    assert book.vwap("bid", notional=2**127 - 1) == pytest.approx(top - 1, rel=1e-12)

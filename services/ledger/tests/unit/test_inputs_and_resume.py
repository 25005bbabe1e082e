"""Stored messages as keyed inputs (bad ones skipped with a reason) and the resume state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.core import Ledger
from ledger.inputs import decode_input
from ledger.merge import FACT, MARK
from ledger.resume import Cuts, StreamCut, decode_state
from mm_proto import OrderAccepted, Side, encode, subjects

from .conftest import INSTRUMENT, SECOND, SYMBOL, T0, fill, top

OURS = ("bybit", "linear", {SYMBOL})
MARK_SUBJECT = subjects.mark("bybit", "linear", SYMBOL)


def test_a_mark_and_a_fill_become_inputs_keyed_by_venue_time_kind_and_sequence() -> None:
    mark = decode_input(MARK_SUBJECT, encode(top(10, 12, T0)), 7, *OURS)
    assert (mark.symbol, mark.key) == (SYMBOL, (T0, MARK, 7))
    subject = subjects.exec_fill("bybit", "linear", SYMBOL)
    booked = decode_input(subject, encode(fill(Side.BUY, 10, 1, T0 + 5)), 3, *OURS)
    assert booked.key == (T0 + 5, FACT, 3)


@pytest.mark.parametrize(
    ("subject", "data", "skipped"),
    [
        ("not.a.subject", b"", "terminated"),
        (MARK_SUBJECT, b"\x00garbage", "terminated"),
        (subjects.mark("bybit", "linear", "ETHUSDT"), encode(top(10, 12, T0)), "skipped"),
        (subjects.mark("bybit", "spot", SYMBOL), encode(top(10, 12, T0)), "skipped"),
        (subjects.exec_position("bybit", "linear", SYMBOL), b"", "skipped"),
        (subjects.mark("bybit", "linear", "ETHUSDT"), b"", "skipped"),
    ],
)
def test_bad_or_foreign_messages_are_skipped_with_a_reason(
    subject: str, data: bytes, skipped: str
) -> None:
    decoded = decode_input(subject, data, 1, *OURS)
    assert decoded.skipped == skipped
    assert decoded.message is None


def test_a_message_for_another_symbol_than_its_subject_is_refused() -> None:
    wrong = decode_input(
        subjects.mark("bybit", "linear", "ETHUSDT"),
        encode(top(1, 3, T0)),
        1,
        "bybit",
        "linear",
        {SYMBOL, "ETHUSDT"},
    )
    assert wrong.skipped == "terminated"
    assert "symbol" in wrong.error


def test_orders_and_pending_markouts_survive_a_flush_and_restore() -> None:
    first = Ledger((1.0,))
    first.add_instrument(INSTRUMENT)
    first.on_top(top(650000, 650002, T0))
    accepted = OrderAccepted(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        client_order_id="o1",
        venue_order_id="v1",
        side=Side.SELL,
        price_ticks=650003,
        size_lots=4,
        ts_event_ns=T0 + 1,
    )
    first.on_order(accepted)
    first.on_fill(fill(Side.BUY, 650000, 10, T0 + 2))
    cuts = Cuts(StreamCut(5, 9), StreamCut(3, 4), {SYMBOL: (T0 + 2, FACT, 9)})
    rows = first.flush(T0, T0 + SECOND, cuts)
    [state] = [decode_state(r.resume_state) for r in rows if r.side == "all"]
    assert state is not None
    assert state.orders == [("o1", "sell", 650003, 4, T0 + 1)]
    assert len(state.markouts) == 1

    second = Ledger((1.0,))
    second.add_instrument(INSTRUMENT)
    restored = second.restore(rows)
    assert restored.exec_cut == StreamCut(5, 9)
    assert restored.last_keys[SYMBOL] == (T0 + 2, FACT, 9)
    for ledger in (first, second):
        ledger.on_top(top(650010, 650012, T0 + 3 * SECOND))
    again = [second.flush(0, 1), first.flush(0, 1)]
    assert again[0] == again[1]
    [buy] = [r for r in again[0] if r.side == "buy"]
    assert Decimal(buy.markout_quote["1s"]) > 0
    [whole] = [r for r in again[0] if r.side == "all"]
    assert whole.observed_nanos == 3 * SECOND - 1  # the restored order rested since T0 + 1


def test_an_unreadable_resume_state_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="resume state"):
        decode_state("{not json")

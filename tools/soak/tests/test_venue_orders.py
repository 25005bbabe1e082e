"""Orders on an old book are timed by the venue's order history, not by late bus events."""

from __future__ import annotations

import time

import msgspec

from mm_bybit.raw import Order
from mm_soak.quote_watch import BOOK_AGE_BOUND_S, QuoteWatch
from mm_soak.venue_orders import lifetimes, longest_old_book


def _order(order_id: str, status: str, created_s: float, updated_s: float) -> Order:
    row = {
        "orderId": order_id, "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
        "price": "1", "qty": "1", "orderStatus": status,
        "createdTime": str(int(created_s * 1000)), "updatedTime": str(int(updated_s * 1000)),
    }  # fmt: skip
    return msgspec.convert(row, Order)


def test_an_order_cancelled_before_the_book_turned_old_is_no_exposure_however_late_we_heard() -> (
    None
):
    live = lifetimes([_order("a", "Cancelled", 100.0, 100.7)], now_s=200.0)
    assert longest_old_book(live, {"BTCUSDT": [(101.0, 120.0)]}, since_s=0.0) is None


def test_an_order_resting_past_the_bound_is_timed_by_when_the_venue_says_it_left() -> None:
    orders = [_order("a", "Cancelled", 100.0, 101.4), _order("b", "Filled", 101.2, 101.6)]
    worst = longest_old_book(lifetimes(orders, 200.0), {"BTCUSDT": [(101.0, 120.0)]}, 0.0)
    assert worst is not None
    assert abs(worst.seconds - 0.6) < 1e-6  # a and b joined: 101.0 to b's fill at 101.6
    assert worst.orders == 2


def test_an_order_still_open_rests_until_now_and_a_rejected_one_never_rested() -> None:
    orders = [_order("a", "New", 100.0, 100.0), _order("r", "Rejected", 100.0, 100.0)]
    live = lifetimes(orders, now_s=105.0)
    assert live == {"BTCUSDT": [(100.0, 105.0)]}
    worst = longest_old_book(live, {"BTCUSDT": [(103.0, 110.0)]}, since_s=104.0)
    assert worst is not None
    assert abs(worst.seconds - 1.0) < 1e-6  # counted from since_s


def test_the_watch_reports_a_gap_in_book_messages_longer_than_the_bound_as_an_old_book() -> None:
    watch = QuoteWatch()
    watch._book_seen("BTCUSDT")
    seen = time.time()
    assert watch.old_book_spans("BTCUSDT", seen + BOOK_AGE_BOUND_S / 2) == []
    spans = watch.old_book_spans("BTCUSDT", seen + BOOK_AGE_BOUND_S + 2.0)
    assert len(spans) == 1
    assert abs(spans[0][1] - spans[0][0] - 2.0) < 0.05

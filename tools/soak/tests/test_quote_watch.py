"""The quote watch times orders left live on a stale or crossed book, and quoting's return."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import nats
from nats.aio.msg import Msg

from mm_proto import (
    BookTop,
    FeedState,
    FeedStatus,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    Side,
    encode,
    subjects,
)
from mm_runtime.barrier import round_trip
from mm_runtime.testing import NatsServer, eventually
from mm_soak.quote_watch import BOOK_AGE_BOUND_S, QuoteWatch

COMMON: dict[str, Any] = {"venue": "bybit", "category": "linear", "symbol": "BTCUSDT"}


def _msg(message: Any) -> Msg:
    return Msg(_client=None, subject="", data=encode(message))  # type: ignore[arg-type]


def _order(kind: type[Any], client_order_id: str, **extra: Any) -> Any:
    return kind(
        **COMMON, client_order_id=client_order_id, venue_order_id="v", side=Side.BUY,
        price_ticks=10, size_lots=1, ts_event_ns=1, **extra,
    )  # fmt: skip


def _status(state: FeedState) -> FeedStatus:
    return FeedStatus(**COMMON, state=state, reason="test", last_update_id=1, ts_event_ns=1)


def _top(bid: int, ask: int) -> BookTop:
    return BookTop(
        **COMMON, bid_price_ticks=bid, bid_size_lots=1, ask_price_ticks=ask, ask_size_lots=1,
        update_id=1, ts_exchange_ns=1, ts_gateway_ns=1,
    )  # fmt: skip


async def test_a_stale_feed_with_live_orders_is_an_exposure_until_the_orders_are_gone() -> None:
    watch = QuoteWatch()
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    await watch._on_order(_msg(_order(OrderAccepted, "b")))
    await watch._on_status(_msg(_status(FeedState.STALE)))
    await watch._on_order(_msg(_order(OrderCancelled, "a", reason="pulled")))
    exposure = watch.longest_exposure()
    assert exposure is not None
    assert exposure.ended_s is None
    await watch._on_order(
        _msg(_order(OrderFilled, "b", filled_lots=1, leaves_lots=0, partial=False))
    )
    assert exposure.ended_s is not None
    assert exposure.reason == "feed stale"
    assert len(watch.exposures) == 1


async def test_an_exposure_ends_at_the_venues_time_of_the_last_cancel_heard_late() -> None:
    watch = QuoteWatch()
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    await watch._on_status(_msg(_status(FeedState.STALE)))
    stale_wall_ns = time.time_ns()
    await asyncio.sleep(0.3)  # the cancel event reaches the bus late (private stream reconnecting)
    cancelled = msgspec.structs.replace(
        _order(OrderCancelled, "a", reason="pulled"), ts_event_ns=stale_wall_ns + 50_000_000
    )
    await watch._on_order(_msg(cancelled))
    exposure = watch.longest_exposure()
    assert exposure is not None
    assert 0.03 < exposure.seconds < 0.2, exposure.seconds


async def test_a_stale_feed_without_orders_and_a_recovered_crossed_book_end_cleanly() -> None:
    watch = QuoteWatch()
    await watch._on_status(_msg(_status(FeedState.STALE)))
    assert watch.exposures == []  # nothing live: nothing exposed
    await watch._on_status(_msg(_status(FeedState.LIVE)))
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    await watch._on_book(_msg(_top(11, 10)))
    assert watch.exposures[0].reason == "crossed book"
    await watch._on_book(_msg(_top(9, 10)))
    assert watch.exposures[0].ended_s is not None


async def test_quoting_resumes_at_the_first_accept_or_amend_after_a_moment() -> None:
    watch = QuoteWatch()
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    moment = time.monotonic()
    assert watch.first_activity_after(moment) is None
    await watch._on_order(_msg(_order(OrderAccepted, "b")))
    resumed = watch.first_activity_after(moment)
    assert resumed is not None
    assert resumed >= 0


async def test_orders_live_on_a_book_older_than_the_bound_are_an_old_book_exposure() -> None:
    watch = QuoteWatch()
    await watch._on_book(_msg(_top(9, 10)))
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    seen = watch.symbols["BTCUSDT"].book_at
    assert seen is not None
    watch.check_book_age(seen + BOOK_AGE_BOUND_S - 0.01)
    assert watch.old_book_exposures == []  # younger than the bound: fine
    watch.check_book_age(seen + BOOK_AGE_BOUND_S + 0.02)
    exposure = watch.longest_old_book()
    assert exposure is not None
    assert exposure.reason == f"book older than {BOOK_AGE_BOUND_S}s"
    assert exposure.started_s == seen + BOOK_AGE_BOUND_S
    assert exposure.ended_s is None
    await watch._on_order(_msg(_order(OrderCancelled, "a", reason="pulled")))
    assert exposure.ended_s is not None
    assert len(watch.old_book_exposures) == 1


async def test_an_old_book_without_orders_is_no_exposure_and_a_fresh_book_ends_one() -> None:
    watch = QuoteWatch()
    await watch._on_book(_msg(_top(9, 10)))
    seen = watch.symbols["BTCUSDT"].book_at
    assert seen is not None
    watch.check_book_age(seen + 5)
    assert watch.old_book_exposures == []
    watch.symbols["BTCUSDT"].book_at = time.monotonic() - 5  # the book went quiet 5 s ago
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    assert len(watch.old_book_exposures) == 1  # an order placed on an old book
    await watch._on_book(_msg(_top(9, 10)))
    assert watch.old_book_exposures[0].ended_s is not None


async def test_an_old_book_exposure_ends_at_the_venue_time_of_a_cancel_heard_late() -> None:
    # The bus froze: the book went old, the executor cancelled 0.2 s later, and this process hears
    # of the cancel only when the bus is back, after a fresh book.
    watch = QuoteWatch()
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    await watch._on_order(_msg(_order(OrderAccepted, "b")))
    watch.symbols["BTCUSDT"].book_at = time.monotonic() - 5
    watch.check_book_age(time.monotonic() - 4)  # the watch's clock saw it pass the bound
    exposure = watch.longest_old_book()
    assert exposure is not None
    cancelled_ns = time.time_ns() - int((time.monotonic() - exposure.started_s - 0.2) * 1e9)
    await watch._on_book(_msg(_top(9, 10)))
    assert exposure.ended_s is not None
    assert exposure.seconds > 3  # by receive times alone: the whole outage
    await watch._on_order(_msg(_order(OrderCancelled, "b", reason="pulled")))
    assert exposure.seconds > 3  # one order still live
    late = _order(OrderCancelled, "a", reason="pulled")
    await watch._on_order(_msg(msgspec.structs.replace(late, ts_event_ns=cancelled_ns)))
    assert 0.15 < exposure.seconds < 0.3


async def test_a_cancel_after_an_exposure_ended_does_not_move_its_end() -> None:
    watch = QuoteWatch()
    await watch._on_order(_msg(_order(OrderAccepted, "a")))
    watch.symbols["BTCUSDT"].book_at = time.monotonic() - 5
    watch.check_book_age(time.monotonic() - 4)
    await watch._on_book(_msg(_top(9, 10)))
    exposure = watch.longest_old_book()
    assert exposure is not None
    assert exposure.ended_s is not None
    ended = exposure.ended_s
    later = _order(OrderCancelled, "a", reason="churn")
    await watch._on_order(_msg(msgspec.structs.replace(later, ts_event_ns=time.time_ns() + 10**9)))
    assert exposure.ended_s == ended


async def test_a_moved_watch_hears_through_its_new_connection_only_and_keeps_its_orders(
    nats_server: NatsServer,
) -> None:
    old, new = await nats.connect(nats_server.url), await nats.connect(nats_server.url)
    watch = QuoteWatch()
    try:
        await watch.attach(old)
        await round_trip(old)  # the subscriptions are at the server (flush() does not prove it)
        subject = subjects.fact_pattern("exec_order", "bybit", "linear", "BTCUSDT")
        await new.publish(subject, encode(_order(OrderAccepted, "a")))
        await eventually(lambda: "a" in watch._watch("BTCUSDT").live_orders, timeout=5)
        await watch.move(new)
        await round_trip(new)
        assert watch.client is new
        await old.close()  # nothing is listened to through it any more
        await new.publish(subject, encode(_order(OrderAccepted, "b")))
        await eventually(lambda: "b" in watch._watch("BTCUSDT").live_orders, timeout=5)
        assert watch._watch("BTCUSDT").live_orders == {"a", "b"}
    finally:
        await watch.detach()
        await new.close()

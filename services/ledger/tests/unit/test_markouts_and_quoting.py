"""Markouts at their horizons, toxicity, presence, depth, quote age, counts and restarts."""

from __future__ import annotations

from decimal import Decimal

from ledger import Ledger
from mm_proto import (
    KpiSnapshot,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    Side,
)

from .conftest import INSTRUMENT, SECOND, SYMBOL, T0, fill, top


def ledger(horizons: tuple[float, ...] = (1.0, 10.0, 60.0)) -> Ledger:
    books = Ledger(horizons)
    books.add_instrument(INSTRUMENT)
    return books


def rows(snapshots: list[KpiSnapshot]) -> dict[tuple[str, str], KpiSnapshot]:
    return {(s.side, s.color): s for s in snapshots}


def order(kind: type, client_id: str, side: Side, price: int, ts: int, **extra: object) -> object:
    return kind(
        venue="bybit",
        category="linear",
        symbol=SYMBOL,
        client_order_id=client_id,
        venue_order_id="v-" + client_id,
        side=side,
        price_ticks=price,
        size_lots=extra.pop("size_lots", 10),
        ts_event_ns=ts,
        **extra,
    )


def test_markouts_use_the_mid_prevailing_at_each_horizon_signed_good_for_us() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    books.on_fill(fill(Side.BUY, 650000, 10, T0, fee="-0.13"))
    books.on_top(top(650004, 650006, T0 + SECOND // 2))  # mid 65000.5: prevails at +1 s
    books.on_top(top(649990, 649992, T0 + 2 * SECOND))  # mid 64999.1: prevails at +10 s
    books.on_top(top(649990, 649992, T0 + 11 * SECOND))  # changes nothing, passes +10 s
    buy = rows(books.flush(T0, T0 + 60 * SECOND))["buy", "blue"]
    assert buy.markout_quote == {"1s": "0.005", "10s": "-0.009"}  # 0.010 x 0.5, 0.010 x -0.9
    assert buy.markout_notional == {"1s": "650", "10s": "650"}
    # Toxic means worse than the 0.13 rebate: neither is.
    assert (buy.markout_fills, buy.toxic_fills) == ({"1s": 1, "10s": 1}, {"1s": 0, "10s": 0})
    books.on_top(top(649990, 649992, T0 + 61 * SECOND))
    assert rows(books.flush(T0, T0 + 120 * SECOND))["buy", "blue"].markout_quote == {
        "60s": "-0.009"
    }


def test_a_sell_the_market_runs_through_is_toxic_when_the_loss_beats_the_rebate() -> None:
    books = ledger((1.0,))
    books.on_top(top(650000, 650002, T0))
    books.on_fill(fill(Side.SELL, 650002, 10, T0, fee="-0.13"))
    books.on_top(top(650300, 650302, T0 + SECOND // 2))  # +30.0: the sell loses 0.299
    books.on_top(top(650300, 650302, T0 + 2 * SECOND))
    sell = rows(books.flush(T0, T0 + 2 * SECOND))["sell", "blue"]
    assert (sell.markout_quote, sell.toxic_fills) == ({"1s": "-0.299"}, {"1s": 1})


def test_a_markout_whose_horizon_has_passed_when_the_fill_arrives_is_resolved_at_once() -> None:
    books = ledger((1.0,))
    books.on_top(top(650000, 650002, T0))
    books.on_top(top(650010, 650012, T0 + 3 * SECOND))
    books.on_fill(fill(Side.BUY, 650000, 10, T0))
    assert rows(books.flush(T0, T0 + 4 * SECOND))["buy", "blue"].markout_quote == {"1s": "0.001"}


def test_presence_and_depth_follow_what_rests_at_the_venue_over_venue_time() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))  # mid 65000.1; 5 bps = 32.5, 10 bps = 65.0
    books.on_order(order(OrderAccepted, "b1", Side.BUY, 649999, T0))
    books.on_top(top(650000, 650002, T0 + SECOND))  # one-sided for 1 s
    books.on_order(order(OrderAccepted, "a1", Side.SELL, 650500, T0 + SECOND))  # 7.7 bps away
    books.on_top(top(650000, 650002, T0 + 3 * SECOND))  # two-sided for 2 s
    books.on_order(order(OrderCancelled, "b1", Side.BUY, 649999, T0 + 3 * SECOND, reason="x"))
    whole = rows(books.flush(T0, T0 + 4 * SECOND))["all", "blue"]
    assert (whole.observed_nanos, whole.two_sided_nanos) == (3 * SECOND, 2 * SECOND)
    assert whole.depth_5bps_lot_nanos == 10 * 3 * SECOND  # only the bid, for 3 s
    assert whole.depth_10bps_lot_nanos == 10 * 3 * SECOND + 10 * 2 * SECOND


def test_order_counts_quote_age_partial_fills_and_rejects_by_ret_code() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    books.on_order(order(OrderAccepted, "b1", Side.BUY, 650000, T0))
    books.on_order(order(OrderAmended, "b1", Side.BUY, 649999, T0 + SECOND))
    partial = {"filled_lots": 4, "leaves_lots": 6, "partial": True}
    books.on_order(order(OrderFilled, "b1", Side.BUY, 649999, T0 + 2 * SECOND, **partial))
    assert books.books[SYMBOL].orders["b1"].leaves_lots == 6
    done = {"filled_lots": 10, "leaves_lots": 0, "partial": False}
    books.on_order(order(OrderFilled, "b1", Side.BUY, 649999, T0 + 5 * SECOND, **done))
    refused = "create: 10001 params error: qty invalid"
    books.on_order(order(OrderRejected, "b2", Side.BUY, 1, T0 + 6 * SECOND, reason=refused))
    books.on_order(order(OrderRejected, "b3", Side.BUY, 1, T0 + 6 * SECOND, reason="timeout"))
    buy = rows(books.flush(T0, T0 + 10 * SECOND))["buy", "blue"]
    assert (buy.orders_created, buy.amends, buy.cancels) == (1, 1, 0)
    assert (buy.quote_age_nanos_sum, buy.quote_age_count) == (5 * SECOND, 1)
    assert buy.rejects == {"10001": 1, "timeout": 1}
    assert SYMBOL in books.books
    assert not books.books[SYMBOL].orders


def test_a_restarted_ledger_resumes_position_mark_and_net_from_its_last_snapshot() -> None:
    first = ledger()
    first.on_top(top(650000, 650002, T0))
    first.on_fill(fill(Side.BUY, 650000, 10, T0, fee="-0.13"))
    first.exec_sequence = 42
    snapshots = first.flush(T0, T0 + SECOND)
    first.on_top(top(650010, 650012, T0 + 2 * SECOND))
    expected = sum(Decimal(s.net_pnl) for s in first.flush(T0 + SECOND, T0 + 3 * SECOND))

    second = ledger()
    second.restore(snapshots)
    assert second.exec_sequence == 42
    second.on_top(top(650010, 650012, T0 + 2 * SECOND))
    resumed = second.flush(T0 + SECOND, T0 + 3 * SECOND)
    assert sum(Decimal(s.net_pnl) for s in resumed) == expected == Decimal("0.01")
    whole = rows(resumed)["all", "blue"]
    assert whole.cumulative_net_pnl == "0.141"  # 0.001 spread + 0.13 rebate + 0.01 inventory
    assert (whole.cumulative_spread_pnl, whole.cumulative_fee_pnl) == ("0.001", "0.13")
    assert whole.cumulative_inventory_pnl == "0.01"


def test_inventory_time_weighted_and_max_drawdown_of_net() -> None:
    books = ledger()
    books.on_top(top(650000, 650002, T0))
    books.on_fill(fill(Side.BUY, 650000, 10, T0))
    books.on_top(top(650010, 650012, T0 + SECOND))  # net 0.011: a new peak
    books.on_top(top(649980, 649982, T0 + 2 * SECOND))  # net -0.019: 0.03 below the peak
    books.on_top(top(649990, 649992, T0 + 4 * SECOND))
    whole = rows(books.flush(T0, T0 + 4 * SECOND))["all", "blue"]
    assert whole.position_lot_nanos == 10 * 4 * SECOND
    assert whole.max_drawdown == "0.03"

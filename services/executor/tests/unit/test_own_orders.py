"""The executor's order view: acks, pushes and races settle to the venue's truth."""

from __future__ import annotations

from executor.own_orders import OrderState, OwnOrders, PushMeaning
from mm_bybit.pushes import VenueOrder
from mm_proto import Side


def push(
    identifier: str,
    status: str = "New",
    price: int = 100,
    size: int = 5,
    filled: int = 0,
    updated: int = 10,
) -> VenueOrder:
    return VenueOrder(identifier, f"v-{identifier}", Side.BUY, price, size, filled, status, updated)


def mine(identifier: str) -> bool:
    return identifier.startswith("o")


def test_create_ack_then_push_makes_a_confirmed_live_order() -> None:
    state = OwnOrders("BTCUSDT")
    state.create_sent("o1", Side.BUY, 100, 5, 0.0)
    assert state.live_orders()[0].busy
    state.acknowledged("o1", "v-o1", 0.1)
    assert state.apply_push(push("o1"), 0.2, True) is PushMeaning.ACCEPTED
    order = state.orders["o1"]
    assert order.state is OrderState.LIVE
    assert not state.live_orders()[0].busy


def test_post_only_kill_before_the_ack_is_not_revived_by_the_late_ack() -> None:
    state = OwnOrders("BTCUSDT")
    state.create_sent("o1", Side.BUY, 100, 5, 0.0)
    assert state.apply_push(push("o1", "Cancelled"), 0.1, True) is PushMeaning.FINISHED
    state.acknowledged("o1", "v-o1", 0.2)
    assert state.orders == {}
    assert state.apply_push(push("o1", "New"), 0.3, True) is PushMeaning.STALE


def test_price_change_in_a_push_is_an_amend() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1"), 0.0, True)
    state.amend_sent("o1", 102, 5, 0.1)
    assert state.apply_push(push("o1", price=102, updated=11), 0.2, True) is PushMeaning.AMENDED
    assert state.orders["o1"].price_ticks == 102


def test_fill_during_an_amend_wins_and_a_refused_amend_falls_back_to_venue_values() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1"), 0.0, True)
    state.amend_sent("o1", 102, 5, 0.1)
    meaning = state.apply_push(
        push("o1", "PartiallyFilled", filled=5, size=5, updated=11), 0.2, True
    )
    assert meaning is PushMeaning.FILLED
    state.refused("o1", 0.3)  # 110064: qty no larger than filled
    order = state.orders["o1"]
    assert (order.price_ticks, order.filled_lots, order.state) == (100, 5, OrderState.LIVE)


def test_cancel_of_an_already_filled_order_removes_it() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1"), 0.0, True)
    state.cancel_sent("o1", 0.1)
    state.gone("o1")  # 110001 from the venue
    assert state.orders == {}
    assert state.apply_push(push("o1", "Filled", filled=5), 0.2, True) is PushMeaning.FINISHED
    assert state.apply_push(push("o1", "New"), 0.3, True) is PushMeaning.STALE
    assert state.orders == {}


def test_an_older_push_than_the_one_applied_is_ignored() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1", price=101, updated=20), 0.0, True)
    assert state.apply_push(push("o1", price=100, updated=19), 0.1, True) is PushMeaning.STALE
    assert state.orders["o1"].price_ticks == 101


def test_push_for_a_foreign_order_is_not_adopted() -> None:
    state = OwnOrders("BTCUSDT")
    assert state.apply_push(push("manual"), 0.0, False) is PushMeaning.STALE
    assert state.orders == {}


def test_timeouts_leave_orders_unconfirmed_and_busy_until_settled() -> None:
    state = OwnOrders("BTCUSDT")
    state.create_sent("o1", Side.BUY, 100, 5, 0.0)
    state.unknown_outcome("o1", 1.0)
    assert state.unconfirmed_since(2.0) == ["o1"]
    assert state.unconfirmed_since(0.5) == []
    assert state.live_orders()[0].busy
    state.apply_push(push("o1"), 3.0, True)
    assert state.unconfirmed_since(10.0) == []


def test_reconcile_adopts_corrects_removes_and_reports_foreign_orders() -> None:
    state = OwnOrders("BTCUSDT")
    for identifier in ("o1", "o2"):
        state.create_sent(identifier, Side.BUY, 100, 5, 0.0)
        state.apply_push(push(identifier), 0.0, True)
    state.apply_push(push("o4"), 0.0, True)  # one a push introduced: adopted as well
    venue = [push("o1", price=101, updated=30), push("o3"), push("o4"), push("manual")]
    report = state.reconcile(venue, 1.0, mine)
    assert report.adopted == ["o4", "o3"]
    assert report.corrected == ["o1"]
    assert report.removed == ["o2"]
    assert [order.client_order_id for order in report.foreign] == ["manual"]
    assert sorted(state.orders) == ["o1", "o3", "o4"]
    assert state.reconcile(venue, 2.0, mine).adopted == []
    assert state.orders["o1"].price_ticks == 101


def test_compare_names_what_reconcile_would_change_and_changes_nothing() -> None:
    state = OwnOrders("BTCUSDT")
    for identifier in ("o1", "o2", "o5"):
        state.create_sent(identifier, Side.BUY, 100, 5, 0.0)
        state.apply_push(push(identifier), 0.0, True)
    state.apply_push(push("o4"), 0.0, True)
    state.amend_sent("o5", 100, 5, 0.5)  # in flight, same values: no disagreement
    venue = [push("o1", price=101, updated=30), push("o3"), push("o4"), push("o5")]
    venue.append(push("manual"))
    report = state.compare(venue, mine)
    assert (report.adopted, report.corrected, report.removed) == (["o4", "o3"], ["o1"], ["o2"])
    assert [order.client_order_id for order in report.foreign] == ["manual"]
    assert sorted(state.orders) == ["o1", "o2", "o4", "o5"]
    assert state.orders["o1"].price_ticks == 100
    assert state.compare(venue, mine).adopted == ["o4", "o3"]  # nothing consumed
    assert state.reconcile(venue, 1.0, mine).adopted == ["o4", "o3"]


def test_a_push_from_before_an_acknowledged_amend_keeps_the_order_busy() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1"), 0.0, True)
    state.amend_sent("o1", 102, 5, 0.1)
    state.acknowledged("o1", "v-o1", 0.2)
    assert state.apply_push(push("o1", updated=10), 0.3, True) is PushMeaning.ACCEPTED
    assert state.live_orders()[0].busy
    assert state.live_orders()[0].price_ticks == 102
    assert state.apply_push(push("o1", price=102, updated=11), 0.4, True) is PushMeaning.AMENDED
    assert not state.live_orders()[0].busy


def test_an_answer_to_our_query_settles_a_pending_request() -> None:
    state = OwnOrders("BTCUSDT")
    state.apply_push(push("o1"), 0.0, True)
    state.amend_sent("o1", 102, 5, 0.1)
    assert state.unconfirmed_since(5.0) == ["o1"]
    state.apply_push(push("o1", updated=10), 6.0, True, authoritative=True)
    assert state.orders["o1"].state is OrderState.LIVE
    assert state.orders["o1"].price_ticks == 100

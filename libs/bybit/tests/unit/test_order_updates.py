"""Each order's state only moves forward, whichever source delivers it and in which order."""

from mm_bybit.order_updates import OrderUpdateFilter
from mm_bybit.raw import Order


def state(status: str, updated_ms: int, filled: str = "0", order_id: str = "o-1") -> Order:
    return Order(
        symbol="BTCUSDT", order_id=order_id, side="Buy", order_status=status,
        cum_exec_qty=filled, updated_time=str(updated_ms),
    )  # fmt: skip


def test_an_older_state_after_a_newer_one_is_held_back() -> None:
    updates = OrderUpdateFilter()
    assert updates.accept(state("Cancelled", 20))
    assert not updates.accept(state("New", 10))
    assert updates.stale == 1


def test_the_same_state_twice_passes_once() -> None:
    updates = OrderUpdateFilter()
    assert updates.select([state("New", 10), state("New", 10)]) == [state("New", 10)]


def test_at_the_same_millisecond_more_filled_and_final_states_win() -> None:
    updates = OrderUpdateFilter()
    batch = [state("Filled", 10, "0.002"), state("PartiallyFilled", 10, "0.001"), state("New", 10)]
    assert [o.order_status for o in updates.select(batch)] == ["New", "PartiallyFilled", "Filled"]


def test_orders_are_tracked_independently() -> None:
    updates = OrderUpdateFilter()
    assert updates.accept(state("New", 10, order_id="a"))
    assert updates.accept(state("New", 5, order_id="b"))

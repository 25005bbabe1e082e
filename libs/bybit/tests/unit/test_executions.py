"""The execution filter lets each trade through once and forgets only beyond its capacity."""

from mm_bybit.executions import ExecutionFilter
from mm_bybit.raw import Execution


def execution(exec_id: str, exec_type: str = "Trade", time_ms: int = 1700000000000) -> Execution:
    return Execution(
        symbol="BTCUSDT", order_id="o", side="Buy", exec_id=exec_id, exec_price="1",
        exec_qty="1", exec_time=str(time_ms), exec_type=exec_type,
    )  # fmt: skip


def test_each_trade_passes_once_and_non_trades_never() -> None:
    fills = ExecutionFilter()
    batch = [execution("a"), execution("a"), execution("f", "Funding"), execution("b")]
    assert fills.select(batch) == [execution("a"), execution("b")]
    assert fills.select([execution("b")]) == []
    assert (fills.duplicates, fills.non_trades) == (2, 1)


def test_the_newest_exec_time_is_remembered_for_catch_up() -> None:
    fills = ExecutionFilter()
    fills.select([execution("a", time_ms=5), execution("b", time_ms=3)])
    assert fills.latest_exec_time_ms == 5


def test_the_oldest_ids_are_forgotten_beyond_capacity() -> None:
    fills = ExecutionFilter(capacity=2)
    fills.select([execution("a"), execution("b"), execution("c")])
    assert not fills.seen("a")
    assert fills.seen("b")
    assert fills.seen("c")

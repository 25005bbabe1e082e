"""Which executions are fills: trades only, each execId once, however many times it is delivered."""

from __future__ import annotations

from collections import OrderedDict

from mm_bybit.raw import Execution


class ExecutionFilter:
    """Remembers the last `capacity` execIds and lets each trade execution through once.

    Funding, delivery, ADL and other non-trade rows arrive on the same topic; they are not fills.
    The same execution may come twice: on the stream, and again from the REST catch-up after a
    reconnect, or on both `execution` and `execution.fast`.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_funding: OrderedDict[str, None] = OrderedDict()
        self.duplicates = 0
        self.non_trades = 0
        self.latest_exec_time_ms = 0

    def seen(self, exec_id: str) -> bool:
        return exec_id in self._seen

    def accept(self, execution: Execution) -> bool:
        """True the first time a trade execution is offered; False for repeats and non-trades."""
        if execution.exec_type != "Trade":
            self.non_trades += 1
            return False
        if execution.exec_id in self._seen:
            self.duplicates += 1
            return False
        self._seen[execution.exec_id] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        self.latest_exec_time_ms = max(self.latest_exec_time_ms, int(execution.exec_time))
        return True

    def select(self, executions: list[Execution]) -> list[Execution]:
        """The new trade executions of one message, in their order."""
        return [execution for execution in executions if self.accept(execution)]

    def select_funding(self, executions: list[Execution]) -> list[Execution]:
        """The new funding executions of one message, each execId once, in their order."""
        fresh = []
        for execution in executions:
            if execution.exec_type != "Funding" or execution.exec_id in self._seen_funding:
                continue
            self._seen_funding[execution.exec_id] = None
            if len(self._seen_funding) > self.capacity:
                self._seen_funding.popitem(last=False)
            fresh.append(execution)
        return fresh

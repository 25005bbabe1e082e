"""Per-endpoint request budgets driven by the venue's X-Bapi-Limit headers, with cancels first."""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

ORDER_CREATE_PATHS = frozenset(
    {"/v5/order/create", "/v5/order/amend", "/v5/order/create-batch", "/v5/order/amend-batch"}
)
ORDER_CANCEL_PATHS = frozenset(
    {"/v5/order/cancel", "/v5/order/cancel-all", "/v5/order/cancel-batch"}
)

# The documented defaults for the lowest tier (linear/inverse); headers replace them after the
# first answer. Anything not listed is a 50/s query endpoint.
DEFAULT_LIMITS: Mapping[str, int] = {
    **dict.fromkeys(ORDER_CREATE_PATHS | ORDER_CANCEL_PATHS, 10),
    "/v5/order/disconnected-cancel-all": 5,
    "/v5/account/fee-rate": 5,
    "/v5/account/query-dcp-info": 5,
}
DEFAULT_QUERY_LIMIT = 50

# The longest a reset timestamp from the venue may park a bucket; a wild value must not stall us.
MAX_BLOCK_S = 60.0


class Priority(enum.IntEnum):
    """Who goes first when the budget is short: lower value wins."""

    CANCEL = 0
    CREATE = 1
    QUERY = 2


def priority_for_path(path: str) -> Priority:
    """Cancels outrank creates and amends, which outrank queries."""
    if path in ORDER_CANCEL_PATHS:
        return Priority.CANCEL
    if path in ORDER_CREATE_PATHS:
        return Priority.CREATE
    return Priority.QUERY


class EndpointBudget:
    """A rolling one-second window for one venue bucket; `acquire` waits instead of overrunning it.

    A slot is counted from acquire until one window after the answer came back (the venue counted
    the request somewhere in between), so the local view is never more generous than the venue's.
    In a bucket that cancels share with creates and amends (`shares_with_cancels`), the last
    `cancel_reserve` slots of a window are kept for cancels, so a burst of creates can never lock
    out the cancels that pull stale quotes. A bucket no cancel draws from keeps no reserve: slots
    kept there would only be lost, pacing creates and amends below what the venue allows.
    """

    def __init__(
        self,
        name: str,
        limit: int,
        window_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        shares_with_cancels: bool = True,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit for {name} must be at least 1, was {limit}")
        self.name = name
        self.window_s = window_s
        self._clock = clock
        self._wall_clock_ms = wall_clock_ms
        self._limit = limit
        self.shares_with_cancels = shares_with_cancels
        self._done: deque[float] = deque()
        self._in_flight = 0
        self._blocked_until = 0.0
        self._waiters: list[tuple[int, int, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def limit(self) -> int:
        """Requests allowed per window, as the venue last reported it."""
        return self._limit

    @property
    def cancel_reserve(self) -> int:
        """Slots per window that only cancels may use (none where no cancel draws)."""
        if not self.shares_with_cancels or self._limit <= 1:
            return 0
        return max(1, self._limit // 5)

    def used(self) -> int:
        """Slots counted in the current window, in flight included."""
        self._expire()
        return len(self._done) + self._in_flight

    def available(self, priority: Priority) -> int:
        """Slots that a request of `priority` could take right now."""
        if self._clock() < self._blocked_until:
            return 0
        free = self._limit - self.used()
        if priority is not Priority.CANCEL:
            free -= self.cancel_reserve
        return max(0, free)

    def largest_grant(self, priority: Priority) -> int:
        """The most slots one request of `priority` can ever be given in a window."""
        reserve = 0 if priority is Priority.CANCEL else self.cancel_reserve
        return max(1, self._limit - reserve)

    async def acquire(self, priority: Priority, count: int = 1) -> None:
        """Wait until `count` slots are free for `priority`, then take them."""
        if count > self.largest_grant(priority):
            # It could never be granted: waiting would hang. Callers split batches to fit.
            raise ValueError(
                f"count must be at most {self.largest_grant(priority)} for {priority.name} "
                f"on {self.name} (limit {self._limit}), was {count}"
            )
        if not self._waiters and self.available(priority) >= count:
            self._in_flight += count
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._sequence), count, future))
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(count, used=False)
            raise

    def release(self, count: int = 1, used: bool = True) -> None:
        """Return slots taken by `acquire`; a used slot stays counted for one more window."""
        self._in_flight -= count
        if used:
            now = self._clock()
            self._done.extend([now] * count)
        self._pump()

    def update_from_headers(self, limit: int | None, remaining: int | None) -> None:
        """Adopt the venue's limit, and count any use it saw that we did not (other clients)."""
        if limit is not None and limit >= 1:
            self._limit = limit
        if remaining is not None:
            venue_used = self._limit - max(0, remaining)
            unseen = venue_used - self.used()
            if unseen > 0:
                self._done.extend([self._clock()] * unseen)
        self._pump()

    def block_until(self, reset_timestamp_ms: int) -> None:
        """The venue said 10006: take no slot until its reset time (capped at MAX_BLOCK_S)."""
        wait_s = (reset_timestamp_ms - self._wall_clock_ms()) / 1000.0
        wait_s = min(MAX_BLOCK_S, max(wait_s, self.window_s / 10))
        self._blocked_until = max(self._blocked_until, self._clock() + wait_s)
        self._pump()

    def _expire(self) -> None:
        horizon = self._clock() - self.window_s
        while self._done and self._done[0] <= horizon:
            self._done.popleft()

    def _pump(self) -> None:
        while self._waiters:
            priority, _, count, future = self._waiters[0]
            if future.done():
                heapq.heappop(self._waiters)
                continue
            if self.available(Priority(priority)) < count:
                break
            heapq.heappop(self._waiters)
            self._in_flight += count
            future.set_result(None)
        self._schedule_wakeup()

    def _schedule_wakeup(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiters:
            return
        now = self._clock()
        candidates = [self._blocked_until] if now < self._blocked_until else []
        if self._done:
            candidates.append(self._done[0] + self.window_s)
        if not candidates:
            return  # only in-flight slots hold the budget: their release pumps again
        delay = max(0.0, min(candidates) - now) + 0.001
        self._timer = asyncio.get_running_loop().call_later(delay, self._pump)


class RateBudget:
    """All buckets of one account, keyed by endpoint path (or one shared key for order actions)."""

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        shared_order_bucket: bool = False,
        window_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._shared_order_bucket = shared_order_bucket
        self._window_s = window_s
        self._clock = clock
        self._wall_clock_ms = wall_clock_ms
        self._buckets: dict[str, EndpointBudget] = {}

    def bucket_key(self, path: str) -> str:
        """The bucket a path draws from."""
        if self._shared_order_bucket and path in ORDER_CREATE_PATHS | ORDER_CANCEL_PATHS:
            return "/v5/order/*"
        return path

    def headroom(self) -> dict[str, float]:
        """Per bucket in use, the share of its limit still free in the current window (0..1)."""
        return {
            key: max(0.0, 1.0 - budget.used() / budget.limit) if budget.limit else 0.0
            for key, budget in self._buckets.items()
        }

    def bucket(self, path: str) -> EndpointBudget:
        """The budget for `path`, created with its default limit on first use."""
        key = self.bucket_key(path)
        budget = self._buckets.get(key)
        if budget is None:
            limit = self._limits.get(key, self._limits.get(path, DEFAULT_QUERY_LIMIT))
            budget = EndpointBudget(
                key,
                limit,
                self._window_s,
                self._clock,
                self._wall_clock_ms,
                shares_with_cancels=self._serves_cancels_and_others(key),
            )
            self._buckets[key] = budget
        return budget

    def _serves_cancels_and_others(self, key: str) -> bool:
        """Whether a bucket keeps the cancel reserve. A per-endpoint create or amend bucket
        serves no cancel, so it keeps none; every other bucket keeps it as before (the query
        buckets too, whose last slots kept our reads under the venue's own count)."""
        return self._shared_order_bucket or key not in ORDER_CREATE_PATHS

    def batch_size(self, path: str) -> int:
        """The largest batch for `path` that its bucket can grant in one window."""
        return self.bucket(path).largest_grant(priority_for_path(path))

    @asynccontextmanager
    async def slot(
        self, path: str, priority: Priority | None = None, count: int = 1
    ) -> AsyncIterator[EndpointBudget]:
        """Hold `count` slots of `path`'s bucket for the duration of one request."""
        budget = self.bucket(path)
        await budget.acquire(priority_for_path(path) if priority is None else priority, count)
        try:
            yield budget
        finally:
            budget.release(count)


def parse_limit_headers(headers: Mapping[str, str]) -> tuple[int | None, int | None, int | None]:
    """Read (limit, remaining, reset ms) from the X-Bapi-Limit* headers, in any letter case."""
    lowered = {key.lower(): value for key, value in headers.items()}

    def number(name: str) -> int | None:
        text = lowered.get(name)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            return None

    return (
        number("x-bapi-limit"),
        number("x-bapi-limit-status"),
        number("x-bapi-limit-reset-timestamp"),
    )

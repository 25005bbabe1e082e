"""A circuit breaker for REST: open after repeated failures, probe half-open, then reset."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from mm_bybit.errors import CircuitOpen


class CircuitState(enum.Enum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures; refuses calls while open; lets one probe through when half-open.

    Only failures that say the venue or the path to it is unwell count (server busy, transport
    errors, timeouts); a business rejection such as "order not found" is a healthy answer.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_after_s <= 0:
            raise ValueError(
                "expected failure_threshold >= 1 and reset_after_s > 0, "
                f"was {failure_threshold} and {reset_after_s}"
            )
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> CircuitState:
        """The current state, moving from open to half-open once the reset period has passed."""
        if (
            self._state is CircuitState.OPEN
            and self._clock() - self._opened_at >= self.reset_after_s
        ):
            self._state = CircuitState.HALF_OPEN
            self._probe_in_flight = False
        return self._state

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        state = self.state
        if state is CircuitState.CLOSED:
            return
        if state is CircuitState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        remaining = max(0.0, self.reset_after_s - (self._clock() - self._opened_at))
        raise CircuitOpen(
            f"circuit open after {self._failures} consecutive failures; "
            f"next probe in {remaining:.2f}s"
        )

    def record_success(self) -> None:
        """A call completed with a healthy answer: close the breaker."""
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._probe_in_flight = False

    def record_failure(self) -> None:
        """A failure that counts: open at the threshold, or re-open after a failed probe."""
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._state = CircuitState.OPEN
            self._opened_at = self._clock()
            self._probe_in_flight = False

    def record_abandoned(self) -> None:
        """A call ended with no outcome recorded (cancelled by its caller, or an error the
        breaker does not judge). A half-open probe that ends so counts as a failed probe, so the
        breaker re-opens and probes again later instead of waiting forever for its answer."""
        if self._state is CircuitState.HALF_OPEN and self._probe_in_flight:
            self.record_failure()

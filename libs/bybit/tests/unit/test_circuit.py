"""The breaker opens after repeated failures, lets one probe through half-open, and resets."""

import pytest

from mm_bybit.circuit import CircuitBreaker, CircuitState
from mm_bybit.errors import CircuitOpen


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def open_breaker(clock: FakeClock) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=clock)
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    return breaker


def test_breaker_opens_after_the_threshold_and_refuses_calls() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen, match="3 consecutive failures"):
        breaker.before_call()


def test_half_open_admits_exactly_one_probe() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.now = 10.0
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.before_call()
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_successful_probe_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.now = 10.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()


def test_a_failed_probe_reopens_for_another_full_period() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.now = 10.0
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 19.9
    assert breaker.state is CircuitState.OPEN
    clock.now = 20.0
    assert breaker.state is CircuitState.HALF_OPEN


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=3)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_a_half_open_probe_that_ends_without_an_outcome_counts_as_a_failed_probe() -> None:
    clock = FakeClock()
    breaker = open_breaker(clock)
    clock.now = 10.0
    breaker.before_call()  # the probe goes out, then its caller cancels it
    breaker.record_abandoned()
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now = 20.0
    breaker.before_call()  # a new probe is allowed after the next reset period
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED


def test_an_abandoned_call_while_closed_changes_nothing() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10.0, clock=FakeClock())
    breaker.before_call()
    breaker.record_abandoned()
    assert breaker.state is CircuitState.CLOSED

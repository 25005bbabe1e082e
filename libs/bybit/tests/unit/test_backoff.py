"""The reconnect schedule grows exponentially under full jitter, caps and resets when stable."""

import pytest

from mm_bybit.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ceilings_double_until_the_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30.0)
    assert [backoff.ceiling(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_delay_is_the_random_fraction_of_the_ceiling() -> None:
    draws = iter([1.0, 0.5, 0.25, 0.0, 1.0])
    backoff = Backoff(base_s=1.0, cap_s=30.0, rng=lambda: next(draws))
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 1.0, 1.0, 0.0, 16.0]


def test_no_delay_ever_exceeds_the_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=30.0, rng=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(200)]
    assert max(delays) == 30.0


def test_a_stable_connection_resets_the_schedule() -> None:
    clock = FakeClock()
    backoff = Backoff(base_s=1.0, stable_after_s=60.0, rng=lambda: 1.0, clock=clock)
    for _ in range(4):
        backoff.next_delay()
    backoff.on_connected()
    clock.now += 61.0
    backoff.on_disconnected()
    assert backoff.next_delay() == 1.0


def test_a_flapping_connection_keeps_growing_the_delay() -> None:
    clock = FakeClock()
    backoff = Backoff(base_s=1.0, stable_after_s=60.0, rng=lambda: 1.0, clock=clock)
    delays = []
    for _ in range(4):
        delays.append(backoff.next_delay())
        backoff.on_connected()
        clock.now += 5.0
        backoff.on_disconnected()
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_invalid_configuration_is_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match="base_s=0"):
        Backoff(base_s=0)

"""The watchdog trips once after the silence and clears when risk beats again."""

from __future__ import annotations

import pytest

from executor.watchdog import Watchdog


def test_trips_once_after_the_timeout_and_clears_on_the_next_beat() -> None:
    watchdog = Watchdog(5.0, now_s=100.0)
    assert not watchdog.check(104.9)
    assert watchdog.check(105.0)
    assert not watchdog.check(106.0)
    assert watchdog.beat(107.0)
    assert not watchdog.check(111.0)
    assert watchdog.check(112.0)


def test_regular_beats_keep_it_quiet() -> None:
    watchdog = Watchdog(1.0, now_s=0.0)
    for second in range(1, 50):
        assert not watchdog.beat(second * 0.5)
        assert not watchdog.check(second * 0.5 + 0.9)


def test_a_late_out_of_order_beat_does_not_move_time_back() -> None:
    watchdog = Watchdog(1.0, now_s=10.0)
    watchdog.beat(5.0)
    assert watchdog.silence_s(10.5) == pytest.approx(0.5)


def test_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Watchdog(0.0, now_s=0.0)


def test_silence_counts_from_when_the_heartbeat_is_listened_to_and_a_trip_stands() -> None:
    dog = Watchdog(timeout_s=0.6, now_s=100.0)
    dog.listening(101.0)  # a slow start: subscribed a second after the watchdog was made
    assert not dog.check(101.5)
    assert dog.check(101.7)
    dog.listening(102.0)
    assert dog.tripped

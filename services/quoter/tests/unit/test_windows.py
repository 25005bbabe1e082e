"""UTC trading windows and cooldowns."""

from __future__ import annotations

import pytest

from quoter.windows import Cooldown, TradingWindow, parse_window, within_windows

MINUTE = 60 * 1_000_000_000
DAY = 24 * 60 * MINUTE


def at(hours: int, minutes: int = 0) -> int:
    return 20_000 * DAY + (hours * 60 + minutes) * MINUTE


def test_a_window_contains_its_start_but_not_its_end() -> None:
    windows = (parse_window("08:00-16:30"),)
    assert within_windows(windows, at(8))
    assert within_windows(windows, at(16, 29))
    assert not within_windows(windows, at(16, 30))
    assert not within_windows(windows, at(7, 59))


def test_a_window_may_wrap_past_midnight_and_end_at_24() -> None:
    assert parse_window("22:00-02:00") == TradingWindow(22 * 60, 2 * 60)
    windows = (parse_window("22:00-02:00"),)
    assert within_windows(windows, at(23, 59))
    assert within_windows(windows, at(1))
    assert not within_windows(windows, at(2))
    assert within_windows((parse_window("20:00-24:00"),), at(23, 59))


def test_no_windows_means_always_open() -> None:
    assert within_windows((), at(3))


@pytest.mark.parametrize("text", ["8:00-9:00", "08:00-08:00", "00:00-24:00", "25:00-26:00", "x"])
def test_malformed_or_empty_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="trading window"):
        parse_window(text)


def test_a_cooldown_runs_for_its_duration_and_extends_on_a_new_event() -> None:
    cooldown = Cooldown()
    assert not cooldown.active(0)
    cooldown.trigger("fill", 0, 1.0)
    assert cooldown.active(999_999_999)
    assert not cooldown.active(1_000_000_000)
    cooldown.trigger("fill", 500_000_000, 1.0)
    assert cooldown.active(1_400_000_000)
    cooldown.trigger("fill", 0, 0.0)
    assert cooldown.last_event == "fill"

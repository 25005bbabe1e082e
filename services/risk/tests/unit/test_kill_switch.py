"""Automatic halt triggers: PnL window, drawdown, reject rate, md down, executor heartbeat."""

from __future__ import annotations

from decimal import Decimal

from risk.kill_switch import KillSwitch, Trigger
from risk.limits import KillSwitchLimits

S = 1_000_000_000
MS = 1_000_000
LIMITS = KillSwitchLimits(
    max_window_loss=Decimal(100),
    pnl_window_s=60,
    max_drawdown=Decimal(150),
    max_rejects=3,
    reject_window_s=10,
    md_down_after_ms=1_000,
    executor_heartbeat_timeout_ms=2_000,
    executor_startup_grace_ms=0,
)


def switch() -> KillSwitch:
    return KillSwitch(["BTCUSDT"], LIMITS, now_ns=0)


def test_loss_exactly_at_the_window_limit_holds_and_beyond_trips() -> None:
    kill = switch()
    assert kill.on_pnl(0, Decimal(0)) is None
    assert kill.on_pnl(10 * S, Decimal(-100)) is None
    trip = kill.on_pnl(20 * S, Decimal("-100.01"))
    assert trip is not None
    assert trip.trigger is Trigger.PNL_WINDOW
    assert trip.observed == Decimal("100.01")


def test_loss_spread_over_more_than_the_window_does_not_trip_the_window_trigger() -> None:
    kill = switch()
    kill.on_pnl(0, Decimal(0))
    kill.on_pnl(50 * S, Decimal(-60))
    assert kill.on_pnl(120 * S, Decimal(-120)) is None


def test_drawdown_from_peak_trips_beyond_the_limit() -> None:
    kill = switch()
    kill.on_pnl(0, Decimal(0))
    kill.on_pnl(100 * S, Decimal(200))
    for minute in range(1, 5):
        assert kill.on_pnl((100 + 61 * minute) * S, Decimal(200 - 37 * minute)) is None
    trip = kill.on_pnl(500 * S, Decimal(49))
    assert trip is not None
    assert trip.trigger is Trigger.DRAWDOWN
    assert trip.observed == Decimal(151)


def test_rearm_makes_the_current_pnl_the_new_peak() -> None:
    kill = switch()
    kill.on_pnl(0, Decimal(500))
    kill.rearm(1 * S, Decimal(0))
    assert kill.on_pnl(2 * S, Decimal(-50)) is None


def test_rejects_within_the_window_trip_only_above_the_limit() -> None:
    kill = switch()
    assert [kill.on_reject(second * S) for second in range(3)] == [None, None, None]
    trip = kill.on_reject(3 * S)
    assert trip is not None
    assert trip.trigger is Trigger.REJECT_RATE
    old_ones_expired = switch()
    for second in (0, 5, 10, 15, 20):
        assert old_ones_expired.on_reject(second * S) is None


def test_market_data_silent_past_the_limit_trips_and_books_keep_it_alive() -> None:
    kill = switch()
    kill.feeds.on_book("BTCUSDT", 500 * MS)
    kill.heartbeat.on_heartbeat(1_500 * MS)
    assert kill.evaluate(1_500 * MS) is None
    trip = kill.evaluate(1_500 * MS + 1)
    assert trip is not None
    assert trip.trigger is Trigger.MD_DOWN
    assert trip.symbol == "BTCUSDT"


def test_books_do_not_count_while_the_feed_reports_it_is_down() -> None:
    kill = switch()
    kill.feeds.on_status("BTCUSDT", False, 100 * MS)
    kill.feeds.on_book("BTCUSDT", 900 * MS)
    kill.heartbeat.on_heartbeat(1_000 * MS)
    trip = kill.evaluate(1_001 * MS)
    assert trip is not None
    assert "down" in trip.detail


def test_executor_heartbeat_missing_past_the_timeout_trips() -> None:
    kill = switch()
    kill.heartbeat.on_heartbeat(1_000 * MS)
    kill.feeds.on_book("BTCUSDT", 3_000 * MS)
    assert kill.evaluate(3_000 * MS) is None
    trip = kill.evaluate(3_000 * MS + 1)
    assert trip is not None
    assert trip.trigger is Trigger.EXECUTOR_HEARTBEAT


def test_one_disagreeing_position_snapshot_is_tolerated_and_two_in_a_row_trip() -> None:
    kill = switch()
    assert kill.on_position("BTCUSDT", 5, 4) is None
    assert kill.on_position("BTCUSDT", 5, 5) is None
    assert kill.on_position("BTCUSDT", 6, 5) is None
    trip = kill.on_position("BTCUSDT", 6, 5)
    assert trip is not None
    assert trip.trigger is Trigger.POSITION_MISMATCH
    assert trip.observed == 1

"""The volatility regime's figure: realized volatility of the ledger's row mids, per minute."""

from __future__ import annotations

import pytest

from mm_proto import KpiSnapshot
from policy.signals import KpiWindow
from policy.volatility import mid_points, realized_bps

MINUTE = 60_000_000_000


def test_realized_volatility_is_the_root_mean_square_move_in_bps_per_minute() -> None:
    points = [(MINUTE, 100_000), (2 * MINUTE, 100_010), (3 * MINUTE, 99_990)]
    moves = [10 * 10_000 / 100_000, -20 * 10_000 / 100_010]
    expected = (sum(move * move for move in moves) / 2) ** 0.5
    assert realized_bps(points) == pytest.approx(expected)


def test_a_move_over_a_longer_gap_counts_as_its_per_minute_share() -> None:
    minute_apart = [(0, 100_000), (MINUTE, 100_010), (2 * MINUTE, 100_020)]
    four_apart = [(0, 100_000), (4 * MINUTE, 100_020), (8 * MINUTE, 100_040)]
    assert realized_bps(four_apart) == pytest.approx(realized_bps(minute_apart), rel=1e-3)


def test_too_few_mids_give_no_figure() -> None:
    assert realized_bps([]) is None
    assert realized_bps([(MINUTE, 100_000), (2 * MINUTE, 100_010)]) is None


def test_rows_of_several_colors_at_one_time_count_once_and_unmarked_mids_are_left_out() -> None:
    rows = [(2 * MINUTE, 100_010), (MINUTE, 100_000), (2 * MINUTE, 100_010), (3 * MINUTE, 0)]
    assert mid_points(rows) == [(MINUTE, 100_000), (2 * MINUTE, 100_010)]


def test_the_window_reads_the_volatility_of_its_all_rows_and_of_the_baseline() -> None:
    window = KpiWindow("10s")
    mids = [100_000, 100_000, 100_000, 100_000, 100_050, 99_950, 100_050]
    for minute, mid in enumerate(mids, start=1):
        window.add(_all_row(minute, mid))
        window.add(_all_row(minute, 1, side="buy"))  # side rows carry no mid: ignored
    signals = window.signals("BTCUSDT", 7 * MINUTE, 150, baseline_s=600)
    assert signals.volatility_bps == pytest.approx(realized_bps(mid_points(_pairs(mids, 5))))
    assert signals.volatility_baseline_bps == pytest.approx(
        realized_bps(mid_points(_pairs(mids, 1)))
    )
    assert signals.volatility_bps > signals.volatility_baseline_bps  # type: ignore[operator]
    assert window.signals("BTCUSDT", 7 * MINUTE, 150).volatility_bps is None


def _pairs(mids: list[int], first_minute: int) -> list[tuple[int, int]]:
    return [(m * MINUTE, mid) for m, mid in enumerate(mids, start=1) if m >= first_minute]


def _all_row(minute: int, mid: int, side: str = "all") -> KpiSnapshot:
    return KpiSnapshot(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        side=side,
        ts_start_ns=(minute - 1) * MINUTE,
        ts_end_ns=minute * MINUTE,
        mid_end_half_ticks=mid if side == "all" else 0,
    )

"""KPI rows into signals: sums, the edge, and NaN or garbage rows refused."""

from __future__ import annotations

import pytest

from mm_proto import KpiSnapshot
from policy.signals import KpiWindow

NS = 1_000_000_000


def row(side: str, end_s: int, **figures: object) -> KpiSnapshot:
    return KpiSnapshot(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        side=side,
        ts_start_ns=(end_s - 60) * NS,
        ts_end_ns=end_s * NS,
        **figures,  # type: ignore[arg-type]
    )


def test_markouts_and_fees_per_notional_make_the_signals() -> None:
    window = KpiWindow("10s")
    assert window.add(
        row(
            "buy",
            100,
            fills=4,
            notional="1000",
            fee_pnl="0.1",
            markout_quote={"10s": "-0.3"},
            markout_notional={"10s": "1000"},
            markout_fills={"10s": 4},
            toxic_fills={"10s": 3},
            orders_created=10,
        )
    )
    assert window.add(
        row(
            "all",
            100,
            observed_nanos=10,
            two_sided_nanos=8,
            position_lots_end=7,
            mid_end_half_ticks=200,
            rejects={"110001": 1},
        )
    )
    signals = window.signals("BTCUSDT", 100 * NS, 120)
    assert signals.markout_bps == pytest.approx(-3.0)
    assert signals.edge_bps == pytest.approx(-2.0)
    assert signals.toxic_share == pytest.approx(0.75)
    assert signals.presence == pytest.approx(0.8)
    assert signals.reject_share == pytest.approx(0.1)
    assert (signals.position_lots, signals.mid_half_ticks, signals.amend_failures) == (7, 200, 1)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-inf", "", "1,5", "sNaN"])
def test_a_row_with_a_figure_that_is_not_a_finite_decimal_is_refused(bad: str) -> None:
    window = KpiWindow("10s")
    assert not window.add(row("buy", 100, markout_quote={"10s": bad}))
    assert window.newest_end_ns("BTCUSDT") == 0


def test_rows_older_than_the_window_are_left_out() -> None:
    window = KpiWindow("10s")
    window.add(row("buy", 100, fills=5))
    window.add(row("buy", 400, fills=1))
    assert window.signals("BTCUSDT", 400 * NS, 120).fills == 1

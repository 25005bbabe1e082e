"""Property test of whole runs: adversarial KPI sequences through the rules and the plan.

Spikes, NaN rows, gaps (stale inputs), wild mids (the volatility regime is on) and floods of
rounds a millisecond apart: after every round each tended field is within its bounds, moved at
most its step, and no field changed twice within its interval.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from mm_proto import KpiSnapshot
from policy.bounds import MANAGED
from policy.params import FieldBounds, PolicyParams
from policy.plan import plan_changes
from policy.rules import FeedView, autopolicy
from policy.signals import KpiWindow

NS = 1_000_000_000
PARAMS = PolicyParams(
    mode="on",
    spread=FieldBounds(floor=1, home=2, ceiling=8, max_step=0.75, min_interval_s=30),
    size=FieldBounds(floor=1, home=4, ceiling=10, max_step=2, min_interval_s=30),
    refresh=FieldBounds(floor=1, home=1, ceiling=6, max_step=1, min_interval_s=30),
    min_fills=1,
    coverage_target=0.9,
    coverage_exit=0.95,
    window_s=120,
    stale_after_s=90,
    vola_enter_ratio=1.5,
    vola_exit_ratio=1.1,
    vola_baseline_s=600,
)
figure = st.one_of(
    st.floats(-1e9, 1e9),
    st.sampled_from(["NaN", "inf", "-Infinity", "garbage", "1e400"]),
)


@st.composite
def rows(draw: st.DrawFn, ts_ns: int) -> KpiSnapshot:
    def text(value: object) -> str:
        return value if isinstance(value, str) else repr(value)

    return KpiSnapshot(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        side=draw(st.sampled_from(["buy", "sell", "all"])),
        ts_start_ns=ts_ns - 60 * NS,
        ts_end_ns=ts_ns,
        fills=draw(st.integers(0, 10**6)),
        notional=text(draw(figure)),
        fee_pnl=text(draw(figure)),
        markout_quote={"10s": text(draw(figure))},
        markout_notional={"10s": text(draw(figure))},
        markout_fills={"10s": draw(st.integers(0, 10**6))},
        orders_created=draw(st.integers(0, 10**6)),
        rejects={"110001": draw(st.integers(0, 10**6))},
        observed_nanos=draw(st.integers(0, 10**12)),
        two_sided_nanos=draw(st.integers(0, 10**12)),
        position_lots_end=draw(st.integers(-(10**6), 10**6)),
        mid_end_half_ticks=draw(st.one_of(st.just(0), st.integers(1, 2**62))),
    )


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(st.integers(1, 90_000), min_size=1, max_size=60))
def test_no_parameter_leaves_its_bounds_or_outruns_its_rate(
    data: st.DataObject, gaps_ms: list[int]
) -> None:
    window = KpiWindow("10s")
    values: dict[str, object] = {
        "min_spread_bps": 2.0,
        "level_size_lots": 4,
        "refresh_price_ticks": 1,
        "max_inventory_lots": 50,
        "enabled": True,
    }
    changed: dict[str, int] = {}
    now = 10**9 * NS
    for gap in gaps_ms:
        now += gap * 1_000_000
        for _ in range(data.draw(st.integers(0, 3))):
            window.add(data.draw(rows(now)))
        fresh = window.newest_end_ns("BTCUSDT") > now - int(PARAMS.stale_after_s * NS)
        baseline = PARAMS.vola_baseline_s
        signals = window.signals("BTCUSDT", now, PARAMS.window_s, baseline) if fresh else None
        proposals = autopolicy(PARAMS, signals, values, FeedView(0, None, False))
        changes, _ = plan_changes(PARAMS, proposals, values, set(), changed, now)
        for change in changes:
            if change.field in MANAGED:
                limits = MANAGED[change.field].of(PARAMS)
                assert isinstance(change.new, int | float)
                assert math.isfinite(change.new)
                assert limits.floor <= change.new <= limits.ceiling
                assert abs(change.new - values[change.field]) <= limits.max_step + 1e-9  # type: ignore[operator]
                last = changed.get(change.field)
                assert last is None or now - last >= limits.min_interval_s * NS
            values[change.field] = change.new
            changed[change.field] = now

"""Pre-trade checks: each a pure function of a proposed ladder, the symbol's state and the limits.

Every `check_<name>(ladder, state, limits)` returns a `CheckResult` whose outcome is `pass` (ladder
unchanged), `reduce` (levels removed or made smaller; what is left is safe) or `block` (nothing of
this ladder may go out). `check_intent` runs them in order, each on what the previous left, and
decides what to send: the ladder, a pull (both sides empty), or nothing (hold the previous target,
when only a throttle objected). Nearly every intent passes every check, so each check first gets
an integer test that it passes (`risk.passing`, which says why that agrees with the check), and
runs with its exact Decimal arithmetic and detailed result only when that test cannot show it.

Exposure checks take the worst case: every resting order on one side fills. A long position with
its whole bid ladder filled must stay within the limit, and likewise short with the asks; a side
that would breach is trimmed from its outermost level inward, so the side that reduces inventory
survives. Notional is valued at the mid. A cut never leaves an order below the venue's minimum
quantity or notional (`Grid.min_lots`): such a level is dropped instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import EMPTY_LADDER, Ladder, QuoteLevel
from risk.exposure_checks import (
    check_portfolio_gross,
    check_portfolio_net,
    check_position_lots,
    check_position_notional,
)
from risk.ladder import within_minimums
from risk.limits import RiskLimits
from risk.passing import (
    LadderSums,
    PassBounds,
    PassTest,
    max_open_orders_passes,
    max_order_notional_passes,
    max_order_qty_passes,
    min_target_interval_passes,
    order_rate_passes,
    portfolio_gross_passes,
    portfolio_net_passes,
    position_lots_passes,
    position_notional_passes,
    price_band_passes,
    stale_market_data_passes,
)
from risk.throttle_checks import check_min_target_interval, check_order_rate
from risk.verdicts import Action, CheckResult, CheckState, Decision, Detail, Outcome, verdict

Check = Callable[[Ladder, CheckState, RiskLimits], CheckResult]

_NS_PER_MS = 1_000_000
_BPS = Decimal(10_000)


def check_stale_market_data(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Block when there is no book, the feed is not live, or the book is older than allowed."""
    limit_ms = Decimal(limits.for_symbol(state.grid.symbol).stale_after_ms)
    market = state.market
    if market is None:
        return _stale(Decimal(-1), limit_ms, "no market data received yet")
    age_ms = Decimal(state.now_ns - market.ts_received_ns) / _NS_PER_MS
    if not market.live:
        return _stale(age_ms, limit_ms, "market data feed is not live")
    if age_ms > limit_ms:
        return _stale(age_ms, limit_ms, f"book is {age_ms} ms old, limit {limit_ms} ms")
    return CheckResult("stale_market_data", Outcome.PASS, ladder, age_ms, limit_ms)


def _stale(age_ms: Decimal, limit_ms: Decimal, detail: str) -> CheckResult:
    """The stale-market-data block: nothing may rest on a book risk cannot trust."""
    return CheckResult("stale_market_data", Outcome.BLOCK, EMPTY_LADDER, age_ms, limit_ms, detail)


def check_price_band(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Drop levels priced further from the mid than the band allows (fat finger)."""
    band = limits.for_symbol(state.grid.symbol).price_band_bps
    if state.market is None:
        return CheckResult("price_band", Outcome.BLOCK, EMPTY_LADDER, Decimal(0), band, "no mid")
    mid = state.market.mid_price_ticks

    def distance_bps(level: QuoteLevel) -> Decimal:
        return abs(Decimal(level.price_ticks) - mid) * _BPS / mid

    # Each level's distance once: it is read for the worst and for the cut.
    bids = [(level, distance_bps(level)) for level in ladder.bids]
    asks = [(level, distance_bps(level)) for level in ladder.asks]
    worst = max((distance for _, distance in bids + asks), default=Decimal(0))
    kept = Ladder(
        tuple(level for level, distance in bids if distance <= band),
        tuple(level for level, distance in asks if distance <= band),
    )
    return verdict(
        "price_band",
        ladder,
        kept,
        worst,
        band,
        lambda: f"a level is {worst:.2f} bps from mid {mid}, band {band} bps",
    )


def check_max_order_qty(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Cut any level larger than the maximum order size down to it."""
    limit = limits.for_symbol(state.grid.symbol).max_order_lots
    largest = max((level.size_lots for level in ladder.bids + ladder.asks), default=0)

    def detail() -> str:
        return f"largest order {largest} lots, limit {limit} lots"

    return _cut_each(
        "max_order_qty", ladder, lambda level: min(level.size_lots, limit),
        Decimal(largest), Decimal(limit), detail,
    )  # fmt: skip


def check_max_order_notional(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Cut any level worth more than the maximum order notional down to what fits."""
    limit = limits.for_symbol(state.grid.symbol).max_order_notional
    grid = state.grid
    largest = max(
        (grid.notional(level.price_ticks, level.size_lots) for level in ladder.bids + ladder.asks),
        default=Decimal(0),
    )

    def fitting(level: QuoteLevel) -> int:
        return min(level.size_lots, grid.lots_within(limit, level.price_ticks))

    def detail() -> str:
        return f"largest order worth {largest}, limit {limit}"

    if largest <= limit and all(level.price_ticks > 0 for level in ladder.bids + ladder.asks):
        # Every level is worth no more than the limit, so `lots_within` (the floor of limit
        # over one lot's value) is at least its size: each keeps its size, without dividing.
        return _cut_each("max_order_notional", ladder, _own_size, largest, limit, detail)
    return _cut_each("max_order_notional", ladder, fitting, largest, limit, detail)


def check_max_open_orders(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Drop the outermost levels (from the longer side first) beyond the open-order limit."""
    limit = limits.for_symbol(state.grid.symbol).max_open_orders
    bids, asks = list(ladder.bids), list(ladder.asks)
    while len(bids) + len(asks) > limit:
        if len(bids) >= len(asks):
            bids.pop()
        else:
            asks.pop()
    return verdict(
        "max_open_orders",
        ladder,
        Ladder(tuple(bids), tuple(asks)),
        Decimal(ladder.order_count),
        Decimal(limit),
        lambda: f"{ladder.order_count} orders asked, limit {limit}",
    )


def _cut_each(
    name: str,
    ladder: Ladder,
    size: Callable[[QuoteLevel], int],
    observed: Decimal,
    limit: Decimal,
    detail: Detail,
) -> CheckResult:
    """The verdict of cutting every level to `size(level)` lots (dropping those left at zero)."""
    return verdict(name, ladder, _resize(ladder, size), observed, limit, detail)


def _resize(ladder: Ladder, size: Callable[[QuoteLevel], int]) -> Ladder:
    def side(levels: tuple[QuoteLevel, ...]) -> tuple[QuoteLevel, ...]:
        kept: list[QuoteLevel] = []
        for level in levels:
            lots = size(level)
            if lots > 0:
                # An uncut level is kept as it is (levels are immutable; a copy would be equal).
                same = lots == level.size_lots
                kept.append(
                    level if same else QuoteLevel(price_ticks=level.price_ticks, size_lots=lots)
                )
        return tuple(kept)

    return Ladder(side(ladder.bids), side(ladder.asks))


def _own_size(level: QuoteLevel) -> int:
    return level.size_lots


def within_venue_minimums(result: CheckResult, grid: Grid) -> CheckResult:
    """A check's cut, without any level it left below the venue's minimum order (min qty/notional).

    Such an order would only be refused by the venue; dropping it is the smallest change that
    keeps the cut within the limit. A cut that leaves nothing then blocks.
    """
    if result.outcome is not Outcome.REDUCE:
        return result
    kept = within_minimums(result.ladder, grid)
    if kept == result.ladder:
        return result
    outcome = Outcome.BLOCK if kept.is_empty else Outcome.REDUCE
    detail = f"{result.detail}; levels cut below the venue's minimum order dropped"
    return replace(result, outcome=outcome, ladder=kept, detail=detail)


# Order matters: staleness first (without a fresh mid nothing else can be judged), then per-order
# sanity, then exposure (which sees the already-clamped sizes), then the open-order count. Each
# check goes with its name and its integer pass test (`risk.passing`).
SAFETY_CHECKS: tuple[tuple[str, Check, PassTest], ...] = (
    ("stale_market_data", check_stale_market_data, stale_market_data_passes),
    ("price_band", check_price_band, price_band_passes),
    ("max_order_qty", check_max_order_qty, max_order_qty_passes),
    ("max_order_notional", check_max_order_notional, max_order_notional_passes),
    ("position_lots", check_position_lots, position_lots_passes),
    ("position_notional", check_position_notional, position_notional_passes),
    ("portfolio_gross", check_portfolio_gross, portfolio_gross_passes),
    ("portfolio_net", check_portfolio_net, portfolio_net_passes),
    ("max_open_orders", check_max_open_orders, max_open_orders_passes),
)
THROTTLE_CHECKS: tuple[tuple[str, Check, PassTest], ...] = (
    ("min_target_interval", check_min_target_interval, min_target_interval_passes),
    ("order_rate", check_order_rate, order_rate_passes),
)


def check_intent(
    ladder: Ladder, state: CheckState, limits: RiskLimits, bounds: PassBounds | None = None
) -> Decision:
    """Run every check on `ladder`; say whether to publish it (as reduced), pull, or hold.

    A check whose pass test holds is counted as passed without running it; any other runs
    exactly. `bounds` are the limits' integer form for `state.grid` (built here when not given).
    """
    return _run(ladder, state, limits, bounds or PassBounds.of(limits, state.grid))


def check_intent_exactly(ladder: Ladder, state: CheckState, limits: RiskLimits) -> Decision:
    """`check_intent` running every check exactly: the reference its pass tests must agree with."""
    return _run(ladder, state, limits, None)


class _Verdicts:
    """The verdicts of one intent's checks so far, and the ladder they left."""

    __slots__ = ("bounds", "current", "events", "passed", "sums")

    def __init__(self, ladder: Ladder, bounds: PassBounds | None) -> None:
        self.bounds = bounds
        self.current = ladder
        self.sums = LadderSums.of(ladder) if bounds is not None else None
        self.passed: list[str] = []
        self.events: list[CheckResult] = []

    def run(self, name: str, check: Check, passes: PassTest, state: CheckState, limits: RiskLimits,
            *, minimums: bool) -> Outcome:  # fmt: skip
        """Run one check on the current ladder; keep what it left."""
        bounds, sums = self.bounds, self.sums
        if bounds is not None and sums is not None and passes(self.current, sums, state, bounds):
            self.passed.append(name)
            return Outcome.PASS
        result = check(self.current, state, limits)
        if minimums:
            result = within_venue_minimums(result, state.grid)
        if result.outcome is Outcome.PASS:
            self.passed.append(name)
            return Outcome.PASS
        self.events.append(result)
        if result.outcome is Outcome.REDUCE:
            self.current = result.ladder
            self.sums = LadderSums.of(result.ladder) if bounds is not None else None
        return result.outcome

    def decision(self, action: Action, ladder: Ladder) -> Decision:
        return Decision(action, ladder, tuple(self.passed), tuple(self.events))


def _run(
    ladder: Ladder, state: CheckState, limits: RiskLimits, bounds: PassBounds | None
) -> Decision:
    verdicts = _Verdicts(ladder, bounds)
    for name, check, passes in SAFETY_CHECKS:
        if verdicts.run(name, check, passes, state, limits, minimums=True) is Outcome.BLOCK:
            return verdicts.decision(Action.PULL, EMPTY_LADDER)
    current = verdicts.current
    for name, check, passes in THROTTLE_CHECKS:
        if verdicts.run(name, check, passes, state, limits, minimums=False) is Outcome.BLOCK:
            return verdicts.decision(Action.HOLD, current)
    action = Action.PULL if current.is_empty else Action.PUBLISH
    return verdicts.decision(action, current)

"""The checks' integer pass tests against the exact checks: the same decision, every time.

`check_intent` skips a check whose pass test holds; `check_intent_exactly` runs every check with
its Decimal arithmetic. For random ladders, books, positions, other symbols' exposure, previous
targets and limits, drawn so that many sit exactly on a limit or one unit either side of it, both
must decide the same action and ladder, name the same passed checks and report the same events
with the same observed values, limits and details.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from risk.checks import SAFETY_CHECKS, THROTTLE_CHECKS, check_intent, check_intent_exactly
from risk.limits import MAX_NOTIONAL, PortfolioLimits, RiskLimits, SymbolLimits
from risk.passing import LadderSums, PassBounds
from risk.verdicts import Action, CheckState, MarketView

MS = 1_000_000
NOW = 1_700_000_000_000_000_000
TICKS = ("0.01", "0.5", "1", "10", "0.0001", "0.1")
LOTS = ("0.001", "1", "100", "0.01", "0.1")


def near(draw: st.DrawFn, value: int | Decimal, step: int | Decimal) -> int | Decimal:
    """`value`, or one `step` either side of it: where a limit decides."""
    return value + draw(st.sampled_from((-1, 0, 0, 1))) * step


def notional_limit(draw: st.DrawFn, value: Decimal, grid: Grid) -> Decimal:
    """A notional limit at `value`, a fraction of one lot at one tick either side, or loose."""
    unit = grid.notional(1, 1)
    chosen = draw(
        st.sampled_from(
            (value, value - unit / 3, value + unit / 3, value - unit, MAX_NOTIONAL, MAX_NOTIONAL)
        )
    )
    return min(max(chosen, Decimal(0)), MAX_NOTIONAL)


def lots_limit(draw: st.DrawFn, value: int) -> int:
    """A limit in lots or orders at `value`, one either side of it, or loose."""
    return max(0, draw(st.sampled_from((value - 1, value, value + 1, 1_000))))


@st.composite
def grids(draw: st.DrawFn) -> Grid:
    return Grid(
        "BTCUSDT",
        Decimal(draw(st.sampled_from(TICKS))),
        Decimal(draw(st.sampled_from(LOTS))),
        min_qty_lots=draw(st.sampled_from((0, 1, 3))),
        min_notional=Decimal(draw(st.sampled_from(("0", "5", "45.5")))),
    )


@st.composite
def sides(draw: st.DrawFn, bid: int, ask: int, band: Decimal) -> Ladder:
    mid = Fraction(bid + ask, 2)
    edge = mid * Fraction(band) / 10_000  # the band's half-width in ticks
    low, high = mid - edge, mid + edge
    at_band = (math.floor(low), math.ceil(low)), (math.floor(high), math.ceil(high))
    sizes = st.one_of(st.sampled_from((0, 1, 2, 5, 10, 100, -1)), st.integers(1, 1_000))
    bid_prices = st.one_of(st.integers(bid - 6, bid), st.sampled_from(at_band[0]))
    ask_prices = st.one_of(st.integers(ask, ask + 6), st.sampled_from(at_band[1]))
    bids = draw(st.lists(st.tuples(bid_prices, sizes), max_size=4))
    asks = draw(st.lists(st.tuples(ask_prices, sizes), max_size=4))
    return Ladder(
        tuple(QuoteLevel(price_ticks=price, size_lots=size) for price, size in bids),
        tuple(QuoteLevel(price_ticks=price, size_lots=size) for price, size in asks),
    )


@st.composite
def limits_around(
    draw: st.DrawFn,
    ladder: Ladder,
    market: MarketView,
    position: int,
    grid: Grid,
    fixed: tuple[Decimal, int, Decimal, Decimal],
) -> RiskLimits:
    """Limits with each on, or one unit either side of, what this ladder reaches, or loose."""
    band, stale_ms, gross, net = fixed
    mid = market.mid_price_ticks
    worst = max(position + ladder.bid_lots, ladder.ask_lots - position, 0)
    sizes = [level.size_lots for level in ladder.bids + ladder.asks] or [1]
    largest = max(ladder.bids + ladder.asks, key=lambda level: level.size_lots * level.price_ticks,
                  default=QuoteLevel(price_ticks=market.bid_price_ticks, size_lots=1))  # fmt: skip
    symbol = SymbolLimits(
        max_position_lots=lots_limit(draw, worst),
        max_position_notional=notional_limit(draw, grid.notional(mid, worst), grid),
        max_order_lots=lots_limit(draw, max(sizes)),
        max_order_notional=notional_limit(
            draw, grid.notional(largest.price_ticks, largest.size_lots), grid
        ),
        price_band_bps=band,
        max_open_orders=lots_limit(draw, len(ladder.bids) + len(ladder.asks)),
        stale_after_ms=stale_ms,
        max_order_actions=draw(st.integers(0, 12)),
        min_target_interval_ms=draw(st.integers(0, 100)),
    )
    portfolio = PortfolioLimits(
        max_gross_notional=notional_limit(draw, gross + grid.notional(mid, worst), grid),
        max_net_notional=notional_limit(
            draw, draw(st.sampled_from((net, -net))) + grid.notional(mid, worst), grid
        ),
    )
    return RiskLimits(portfolio=portfolio, default=symbol)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Ladder, CheckState, RiskLimits]:
    grid = draw(grids())
    # A mid of whole hundreds puts some prices exactly on a band of whole bps.
    bid = draw(
        st.one_of(st.integers(1, 3_000_000), st.integers(1, 30_000).map(lambda k: 100 * k - 1))
    )
    ask = bid + draw(st.sampled_from((2, 2, 1, 3, 20)))
    band = Decimal(draw(st.sampled_from(("0.5", "1", "12.5", "100", "1000", "33.3333"))))
    ladder = draw(sides(bid, ask, band))
    stale_ms = draw(st.integers(100, 2_000))
    market = MarketView(
        bid, ask, NOW - near(draw, stale_ms * MS, 1), draw(st.sampled_from((True,) * 9 + (False,)))
    )
    position = draw(st.one_of(st.integers(-2_000, 2_000), st.just(0)))
    gross = draw(st.sampled_from((Decimal(0), Decimal("123.45"), Decimal("4999.999"))))
    net = draw(st.sampled_from((Decimal(0), gross, -gross)))
    limits = draw(limits_around(ladder, market, position, grid, (band, stale_ms, gross, net)))
    symbol = limits.default
    previous = draw(st.sampled_from((None, ladder, Ladder(ladder.bids[:1], ladder.asks[:1]))))
    previous = (
        previous if previous is not None or draw(st.booleans()) else draw(sides(bid, ask, band))
    )
    interval_ms = symbol.min_target_interval_ms
    last = draw(st.sampled_from((None, NOW - near(draw, interval_ms * MS, 1), NOW - 7 * MS)))
    state = CheckState(
        now_ns=NOW,
        grid=grid,
        position_lots=position,
        market=draw(st.sampled_from((market,) * 19 + (None,))),
        other_gross_notional=gross,
        other_net_notional=net,
        previous_target=previous,
        last_change_ns=last,
        actions_in_window=draw(st.integers(0, 12)),
    )
    return ladder, state, limits


# Every branch of the checks and pass tests these draws reach, they reached within the first
# 300-730 draws of each of four seeds (of 3,000 drawn); the draws stay random, so runs over time
# go on exploring. Made one unit too lenient at its limit, nine of the ten pass tests still fail
# at this count on two seeds; the tenth, the price band's, is loosened by a unit finer than any
# price step these draws make, so no count of them would catch it.
@settings(max_examples=1_000, deadline=None)
@given(cases())
def test_the_pass_tests_decide_exactly_as_the_exact_checks(
    case: tuple[Ladder, CheckState, RiskLimits],
) -> None:
    ladder, state, limits = case
    fast = check_intent(ladder, state, limits)
    exact = check_intent_exactly(ladder, state, limits)
    assert fast == exact
    # Equal Decimals may print differently (0 and 0E-5): events carry the text.
    texts = [(str(event.observed), str(event.limit), event.detail) for event in fast.events]
    assert texts == [(str(e.observed), str(e.limit), e.detail) for e in exact.events]


def test_a_clean_intent_passes_every_check_by_its_pass_test_alone() -> None:
    grid = Grid("BTCUSDT", Decimal("0.01"), Decimal("0.001"))
    ladder = Ladder(
        (QuoteLevel(price_ticks=9_990, size_lots=5), QuoteLevel(price_ticks=9_980, size_lots=5)),
        (QuoteLevel(price_ticks=10_010, size_lots=5),),
    )
    state = CheckState(
        now_ns=NOW,
        grid=grid,
        position_lots=3,
        market=MarketView(9_999, 10_000, NOW - MS),
        other_gross_notional=Decimal("1000.5"),
        other_net_notional=Decimal("-200"),
        previous_target=Ladder(ladder.bids[:1], ladder.asks),
        last_change_ns=NOW - 1_000 * MS,
    )
    limits = RiskLimits()
    bounds, sums = PassBounds.of(limits, grid), LadderSums.of(ladder)
    for name, _check, passes in SAFETY_CHECKS + THROTTLE_CHECKS:
        assert passes(ladder, sums, state, bounds), name
    decision = check_intent(ladder, state, limits, bounds)
    assert (decision.action, decision.ladder, decision.events) == (Action.PUBLISH, ladder, ())


def test_doubled_units_remembered_is_what_a_fresh_bounds_computes() -> None:
    """The remembered answer is the computed one: for equal values written with different
    exponents, for negatives, and across the memory starting again when full."""
    grid = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"))
    limits = RiskLimits()
    bounds = PassBounds.of(limits, grid)
    notionals = [Decimal("1000.5"), Decimal("1000.50"), Decimal("1000.500000000"), Decimal("-3.3")]
    notionals += [Decimal(index) / 7 for index in range(-100, 100)]
    for _ in range(2):
        for notional in notionals:
            fresh = PassBounds.of(limits, grid).doubled_units(notional)
            assert bounds.doubled_units(notional) == fresh, notional
    # floor(2 N / u), one lot at one tick being u = 0.0001
    assert bounds.doubled_units(Decimal("0.05")) == 1_000
    assert bounds.doubled_units(Decimal("0.0000499")) == 0


def test_ladder_sums_add_each_side_and_see_any_empty_level() -> None:
    bids = (QuoteLevel(price_ticks=99, size_lots=2), QuoteLevel(price_ticks=98, size_lots=5))
    asks = (QuoteLevel(price_ticks=101, size_lots=3),)
    assert LadderSums.of(Ladder(bids, asks)) == LadderSums(7, 3, True)
    assert LadderSums.of(Ladder()) == LadderSums(0, 0, True)
    empty_ask = (*asks, QuoteLevel(price_ticks=102, size_lots=0))
    assert LadderSums.of(Ladder(bids, empty_ask)) == LadderSums(7, 3, False)
    empty_bid = (QuoteLevel(price_ticks=99, size_lots=0), *bids)
    assert LadderSums.of(Ladder(empty_bid, asks)) == LadderSums(7, 3, False)

"""Integer tests that a check would pass, so a passing check costs no result object and no Decimal.

Each `<check>_passes(ladder, sums, state, bounds)` is True only when the exact check in
`risk.checks`, `risk.exposure_checks` or `risk.throttle_checks` would return `pass` with the ladder
unchanged; False means "not shown here", and `check_intent` then runs the exact check, whose
result (reduce, block, or a pass these tests could not show) is the only one that carries
observed values and limits into events. So a test may be conservative, never optimistic.

The exact checks compare Decimals rounded to the context's precision (28 digits); these compare
exact integers. Where an exact check divides (notional per lot, distance from the mid in bps), the
exact inequality `x <= limit` implies the rounded one, because rounding is monotone and an
integer, or a limit of at most the context's digits, is its own rounding. Where it subtracts or
adds Decimals (a limit less the other symbols' notional), the test uses that same Decimal. The
limits' fixed parts are turned into integer bounds once per set of limits and instrument
(`PassBounds`); the mid enters as `bid + ask` (twice the mid), so half ticks stay integers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_FLOOR, Context, Decimal, getcontext

from mm_proto import Grid
from mm_proto.quoting import Ladder, ladder_changes
from risk.limits import RiskLimits
from risk.verdicts import CheckState

_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_NS_PER_MS = 1_000_000
# Below this, prices (times 10_000) and sizes in lots have far fewer digits than the context's 28,
# so the exact checks' subtractions and products are exact and such an integer is its own rounding.
_MAX_EXACT = 10**18
# Notionals whose `doubled_units` a PassBounds remembers before it starts again.
_DOUBLED_REMEMBERED = 64


@dataclass(frozen=True, slots=True)
class LadderSums:
    """What the tests read off a ladder, summed once per ladder rather than once per check."""

    bid_lots: int
    ask_lots: int
    positive: bool  # every level has at least one lot

    @classmethod
    def of(cls, ladder: Ladder) -> LadderSums:
        """Once per intent (and per reduced ladder): one plain loop per side, no generators."""
        bid_lots = ask_lots = 0
        positive = True
        for level in ladder.bids:
            bid_lots += level.size_lots
            positive = positive and level.size_lots > 0
        for level in ladder.asks:
            ask_lots += level.size_lots
            positive = positive and level.size_lots > 0
        return cls(bid_lots, ask_lots, positive)


@dataclass(frozen=True, slots=True)
class PassBounds:
    """One symbol's limits as integers in its grid's units: built when the limits change.

    A notional limit N becomes floor(2 N / u), where u is the value of one lot at one tick: a
    position of x lots at mid (bid + ask) / 2 is within N exactly when x (bid + ask) is within it.
    """

    stale_ns: int
    band: tuple[int, int] | None  # price_band_bps as numerator, denominator; None: not exact here
    max_order_lots: int
    order_units: int  # max_order_notional: size * price (ticks) within it
    position_units: int  # max_position_notional, against lots * (bid + ask)
    max_position_lots: int
    max_open_orders: int
    min_interval_ns: int
    max_order_actions: int
    gross_limit: Decimal
    net_limit: Decimal
    lot_value: int  # u = lot_value * 10**exponent
    exponent: int
    # `doubled_units` by notional value: the portfolio checks ask it three times per intent for
    # limits less the other symbols' exposure, which repeat while those positions and marks hold,
    # and each answer costs microseconds of arithmetic at the exact context's precision.
    _doubled: dict[Decimal, int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, limits: RiskLimits, grid: Grid) -> PassBounds:
        symbol = limits.for_symbol(grid.symbol)
        lot_value, exponent = _digits_and_exponent(grid.notional(1, 1))
        band = symbol.price_band_bps
        exact_band = len(band.as_tuple().digits) <= getcontext().prec
        return cls(
            stale_ns=symbol.stale_after_ms * _NS_PER_MS,
            band=band.as_integer_ratio() if exact_band else None,
            max_order_lots=symbol.max_order_lots,
            order_units=_units(symbol.max_order_notional, lot_value, exponent),
            position_units=_units(
                _EXACT.multiply(symbol.max_position_notional, 2), lot_value, exponent
            ),
            max_position_lots=symbol.max_position_lots,
            max_open_orders=symbol.max_open_orders,
            min_interval_ns=symbol.min_target_interval_ms * _NS_PER_MS,
            max_order_actions=symbol.max_order_actions,
            gross_limit=limits.portfolio.max_gross_notional,
            net_limit=limits.portfolio.max_net_notional,
            lot_value=lot_value,
            exponent=exponent,
        )

    def doubled_units(self, notional: Decimal) -> int:
        """floor(2 N / u) for a notional computed per intent (a limit less other symbols').

        Remembered by value: equal Decimals (whatever their exponents) have the same floor."""
        known = self._doubled.get(notional)
        if known is None:
            if len(self._doubled) >= _DOUBLED_REMEMBERED:
                self._doubled.clear()
            known = _units(_EXACT.multiply(notional, 2), self.lot_value, self.exponent)
            self._doubled[notional] = known
        return known


def _digits_and_exponent(value: Decimal) -> tuple[int, int]:
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # a finite notional
    return int("".join(map(str, digits))), exponent


def _units(notional: Decimal, lot_value: int, exponent: int) -> int:
    """floor(notional / (lot_value * 10**exponent)), exactly."""
    scaled = notional.scaleb(-exponent, _EXACT).to_integral_value(ROUND_FLOOR, _EXACT)
    return int(scaled) // lot_value


PassTest = Callable[[Ladder, LadderSums, CheckState, PassBounds], bool]


def stale_market_data_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    market = state.market
    return (
        market is not None
        and market.live
        and state.now_ns - market.ts_received_ns <= bounds.stale_ns
    )


def price_band_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    """Every level within the band: |p - mid| * 10_000 / mid <= band, times 2 mid * denominator."""
    market, band = state.market, bounds.band
    if market is None or band is None:
        return False
    doubled_mid = market.bid_price_ticks + market.ask_price_ticks
    if not 0 < doubled_mid < _MAX_EXACT:
        return False
    numerator, denominator = band
    allowed = numerator * doubled_mid
    for level in ladder.bids + ladder.asks:
        if abs(2 * level.price_ticks - doubled_mid) * 10_000 * denominator > allowed:
            return False
    return True


def max_order_qty_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    limit = bounds.max_order_lots
    return all(0 < level.size_lots <= limit for level in ladder.bids + ladder.asks)


def max_order_notional_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    units = bounds.order_units
    return all(
        level.price_ticks > 0
        and 0 < level.size_lots < _MAX_EXACT
        and level.size_lots * level.price_ticks <= units
        for level in ladder.bids + ladder.asks
    )


def _sides_fit(
    ladder: Ladder, sums: LadderSums, position: int, max_long: int, max_short: int
) -> bool:
    """Both sides whole under `risk.ladder.cap_side` (positive sizes): what `_bound_exposure`
    keeps unchanged, as lots: position + bids <= max_long, asks - position <= max_short."""
    return (
        sums.positive
        and (not ladder.bids or position + sums.bid_lots <= max_long)
        and (not ladder.asks or sums.ask_lots - position <= max_short)
    )


def _valued_sides_fit(
    ladder: Ladder, sums: LadderSums, state: CheckState, long: int, short: int
) -> bool:
    """As `_sides_fit` with bounds in units of `PassBounds`: lots * (bid + ask) within them.
    Without a market (the exact check then blocks) nothing is shown here."""
    market = state.market
    doubled_mid = 0 if market is None else market.bid_price_ticks + market.ask_price_ticks
    if doubled_mid <= 0:
        return False
    position = state.position_lots
    longest, shortest = position + sums.bid_lots, sums.ask_lots - position
    if not (
        sums.positive and -_MAX_EXACT < longest < _MAX_EXACT and -_MAX_EXACT < shortest < _MAX_EXACT
    ):
        return False
    return (not ladder.bids or longest * doubled_mid <= long) and (
        not ladder.asks or shortest * doubled_mid <= short
    )


def position_lots_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    limit = bounds.max_position_lots
    return _sides_fit(ladder, sums, state.position_lots, limit, limit)


def position_notional_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    units = bounds.position_units
    return _valued_sides_fit(ladder, sums, state, units, units)


def portfolio_gross_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    units = bounds.doubled_units(bounds.gross_limit - state.other_gross_notional)
    return _valued_sides_fit(ladder, sums, state, units, units)


def portfolio_net_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    others, limit = state.other_net_notional, bounds.net_limit
    long, short = bounds.doubled_units(limit - others), bounds.doubled_units(limit + others)
    return _valued_sides_fit(ladder, sums, state, long, short)


def max_open_orders_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    return len(ladder.bids) + len(ladder.asks) <= bounds.max_open_orders


def _takes_risk_off(previous: Ladder | None, ladder: Ladder, sums: LadderSums) -> bool:
    """`risk.throttle_checks.takes_risk_off`, with this ladder's sums already known."""
    if not ladder.bids and not ladder.asks:
        return True
    if previous is None:
        return False
    return sums.bid_lots <= previous.bid_lots and sums.ask_lots <= previous.ask_lots


def min_target_interval_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    previous, last = state.previous_target, state.last_change_ns
    return (
        last is None
        or ladder == previous
        or _takes_risk_off(previous, ladder, sums)
        or state.now_ns - last >= bounds.min_interval_ns
    )


def order_rate_passes(
    ladder: Ladder, sums: LadderSums, state: CheckState, bounds: PassBounds
) -> bool:
    previous = state.previous_target
    needed = ladder_changes(previous, ladder)
    return (
        needed == 0
        or _takes_risk_off(previous, ladder, sums)
        or state.actions_in_window + needed <= bounds.max_order_actions
    )

"""Exposure checks: position and portfolio limits, worst case where one side's orders all fill.

Each check turns its limit into a bound on the symbol's worst-case long and short position in lots,
then trims the bid side (which adds long inventory) and the ask side (short inventory) from their
outermost levels until both worst cases fit. A position already beyond the bound leaves that side
empty and keeps the side that reduces inventory.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from mm_proto.quoting import Ladder
from risk.ladder import cap_side
from risk.limits import RiskLimits
from risk.verdicts import CheckResult, CheckState, Outcome, verdict


def _bound_exposure(
    check: str,
    ladder: Ladder,
    state: CheckState,
    max_long_lots: int,
    max_short_lots: int,
    express: Callable[[int], Decimal],
    limit: Decimal,
) -> CheckResult:
    """Trim `ladder` so position + bids <= max_long and position - asks >= -max_short."""
    position = state.position_lots
    worst_long = position + ladder.bid_lots
    worst_short = ladder.ask_lots - position
    kept = Ladder(
        cap_side(ladder.bids, max_long_lots - position),
        cap_side(ladder.asks, max_short_lots + position),
    )
    worst = max(worst_long, worst_short)
    observed = express(worst)

    def detail() -> str:
        side = "bids" if worst_long >= worst_short else "asks"
        return (
            f"position {position} lots with every {side} order filled reaches {observed}, "
            f"limit {limit}"
        )

    return verdict(check, ladder, kept, observed, limit, detail)


def _mid(state: CheckState) -> Decimal | None:
    return None if state.market is None else state.market.mid_price_ticks


def _no_mid(check: str, limit: Decimal) -> CheckResult:
    return CheckResult(check, Outcome.BLOCK, Ladder(), Decimal(0), limit, "no mid to value at")


def check_position_lots(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Absolute position in lots, worst case per side, within `max_position_lots`."""
    limit = limits.for_symbol(state.grid.symbol).max_position_lots
    return _bound_exposure(
        "position_lots", ladder, state, limit, limit, lambda lots: Decimal(lots), Decimal(limit)
    )


def check_position_notional(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Absolute position value at the mid, worst case per side, within `max_position_notional`."""
    limit = limits.for_symbol(state.grid.symbol).max_position_notional
    return _valued_exposure("position_notional", ladder, state, limit, None)


def check_portfolio_gross(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Sum of absolute position values across symbols, worst case here, within the gross limit."""
    limit = limits.portfolio.max_gross_notional
    return _valued_exposure("portfolio_gross", ladder, state, limit, state.other_gross_notional)


def _valued_exposure(
    check: str, ladder: Ladder, state: CheckState, limit: Decimal, others: Decimal | None
) -> CheckResult:
    """This symbol's worst case valued at the mid (plus `others`, the other symbols' absolute
    value, when the limit spans them) within `limit`. The worst case is never below zero lots."""
    mid = _mid(state)
    if mid is None:
        return _no_mid(check, limit)
    grid = state.grid
    bound = grid.lots_within(limit if others is None else limit - others, mid)

    def value(lots: int) -> Decimal:
        notional = grid.notional(mid, lots)
        return notional if others is None else others + notional

    return _bound_exposure(check, ladder, state, bound, bound, value, limit)


def check_portfolio_net(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Signed sum of position values across symbols, worst case here, within +/- the net limit."""
    limit = limits.portfolio.max_net_notional
    mid = _mid(state)
    if mid is None:
        return _no_mid("portfolio_net", limit)
    others = state.other_net_notional
    grid = state.grid
    max_long = grid.lots_within(limit - others, mid)
    max_short = grid.lots_within(limit + others, mid)
    position = state.position_lots
    worst_long = others + grid.notional(mid, position + ladder.bid_lots)
    worst_short = -others + grid.notional(mid, ladder.ask_lots - position)
    observed = max(worst_long, worst_short)
    kept = Ladder(
        cap_side(ladder.bids, max_long - position), cap_side(ladder.asks, max_short + position)
    )
    return verdict(
        "portfolio_net",
        ladder,
        kept,
        observed,
        limit,
        lambda: f"net exposure with one side filled reaches {observed}, limit {limit}",
    )

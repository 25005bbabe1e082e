"""Position and portfolio checks in the worst case where a whole side fills, at their boundaries."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from risk.exposure_checks import (
    check_portfolio_gross,
    check_portfolio_net,
    check_position_lots,
    check_position_notional,
)
from risk.limits import PortfolioLimits, RiskLimits, SymbolLimits
from risk.verdicts import CheckState, MarketView, Outcome

NOW = 5_000_000_000
INSTRUMENT = Grid("BTCUSDT", Decimal("0.01"), Decimal(1))
MARKET = MarketView(9_999, 10_001, NOW)  # mid 100.00: one lot is worth 100


def rules(gross: int = 1_000_000, net: int = 1_000_000, **symbol: object) -> RiskLimits:
    return RiskLimits(
        default=SymbolLimits.model_validate(symbol),
        portfolio=PortfolioLimits(max_gross_notional=Decimal(gross), max_net_notional=Decimal(net)),
    )


def state(position: int = 0, **fields: object) -> CheckState:
    values: dict[str, object] = {
        "now_ns": NOW,
        "grid": INSTRUMENT,
        "market": MARKET,
        "position_lots": position,
    }
    values.update(fields)
    return CheckState(**values)  # type: ignore[arg-type]


BIDS = (
    QuoteLevel(price_ticks=9_990, size_lots=3),
    QuoteLevel(price_ticks=9_980, size_lots=3),
    QuoteLevel(price_ticks=9_970, size_lots=3),
)
ASKS = (QuoteLevel(price_ticks=10_010, size_lots=3), QuoteLevel(price_ticks=10_020, size_lots=3))


def test_bid_ladder_that_fills_exactly_to_the_limit_passes() -> None:
    result = check_position_lots(Ladder(BIDS, ASKS), state(position=1), rules(max_position_lots=10))
    assert result.outcome is Outcome.PASS
    assert result.observed == 10


def test_bid_ladder_that_would_overshoot_the_limit_is_cut_from_the_outside_in() -> None:
    result = check_position_lots(Ladder(BIDS, ASKS), state(position=2), rules(max_position_lots=10))
    assert result.outcome is Outcome.REDUCE
    assert result.ladder == Ladder(
        (
            QuoteLevel(price_ticks=9_990, size_lots=3),
            QuoteLevel(price_ticks=9_980, size_lots=3),
            QuoteLevel(price_ticks=9_970, size_lots=2),
        ),
        ASKS,
    )
    assert (result.observed, result.limit) == (11, 10)


def test_position_at_the_limit_keeps_only_the_side_that_reduces_inventory() -> None:
    result = check_position_lots(
        Ladder(BIDS, ASKS), state(position=10), rules(max_position_lots=10)
    )
    assert result.ladder == Ladder((), ASKS)


def test_short_position_beyond_the_limit_keeps_only_bids() -> None:
    result = check_position_lots(
        Ladder(BIDS, ASKS), state(position=-12), rules(max_position_lots=10)
    )
    assert result.outcome is Outcome.REDUCE
    assert result.ladder == Ladder(BIDS, ())


def test_ask_ladder_is_bounded_symmetrically() -> None:
    result = check_position_lots(Ladder((), ASKS), state(position=-1), rules(max_position_lots=6))
    assert result.ladder == Ladder(
        (),
        (QuoteLevel(price_ticks=10_010, size_lots=3), QuoteLevel(price_ticks=10_020, size_lots=2)),
    )


def test_position_notional_boundary_is_valued_at_mid() -> None:
    symbol_rules = rules(max_position_notional=900, max_order_notional=900)
    full = check_position_notional(Ladder(BIDS, ()), state(), symbol_rules)
    assert full.outcome is Outcome.PASS
    assert full.observed == Decimal(900)
    over = check_position_notional(Ladder(BIDS, ()), state(position=1), symbol_rules)
    assert over.outcome is Outcome.REDUCE
    assert over.ladder.bid_lots == 8
    assert over.observed == Decimal(1_000)


def test_portfolio_gross_counts_other_symbols_exposure() -> None:
    limits = rules(gross=1_500, net=1_000, max_position_notional=1_000, max_order_notional=1_000)
    others = state(other_gross_notional=Decimal(600))
    assert check_portfolio_gross(Ladder(BIDS, ()), others, limits).outcome is Outcome.PASS
    crowded = state(other_gross_notional=Decimal(700))
    result = check_portfolio_gross(Ladder(BIDS, ASKS), crowded, limits)
    assert result.outcome is Outcome.REDUCE
    assert result.ladder.bid_lots == 8
    assert result.ladder.ask_lots == 6
    assert result.observed == Decimal(1_600)


def test_portfolio_net_allows_the_side_that_offsets_other_symbols() -> None:
    limits = rules(gross=10_000, net=1_000, max_position_notional=1_000, max_order_notional=1_000)
    long_elsewhere = state(other_net_notional=Decimal(800))
    result = check_portfolio_net(Ladder(BIDS, ASKS), long_elsewhere, limits)
    assert result.outcome is Outcome.REDUCE
    # Bids may add only 200 (2 lots); asks may go short up to 1_800 (18 lots), so all 6 stay.
    assert result.ladder == Ladder((QuoteLevel(price_ticks=9_990, size_lots=2),), ASKS)


def test_portfolio_net_exactly_at_the_limit_passes() -> None:
    limits = rules(gross=10_000, net=1_000, max_position_notional=1_000, max_order_notional=1_000)
    result = check_portfolio_net(Ladder(BIDS, ()), state(other_net_notional=Decimal(100)), limits)
    assert result.outcome is Outcome.PASS


def test_exposure_checks_block_without_a_mid() -> None:
    for check in (check_position_notional, check_portfolio_gross, check_portfolio_net):
        assert check(Ladder(BIDS, ()), state(market=None), rules()).outcome is Outcome.BLOCK

"""Risk's cuts never leave an order below the venue's minimum quantity or notional."""

from __future__ import annotations

import random
from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from risk.checks import check_intent
from risk.limits import PortfolioLimits, RiskLimits, SymbolLimits
from risk.verdicts import Action, CheckState, MarketView, Outcome

NOW = 1_000_000_000_000
MARKET = MarketView(bid_price_ticks=9_999, ask_price_ticks=10_001, ts_received_ns=NOW)
# Price 100.00 = 10_000 ticks of 0.01, lot 0.1: one lot at the mid is worth 10.
MIN_QTY = Grid("BTCUSDT", Decimal("0.01"), Decimal("0.1"), min_qty_lots=5)
MIN_NOTIONAL = Grid("BTCUSDT", Decimal("0.01"), Decimal("0.1"), min_notional=Decimal(45))


def limits(**fields: object) -> RiskLimits:
    big = Decimal(10**9)
    return RiskLimits(
        default=SymbolLimits.model_validate(
            {"max_position_notional": big, "max_order_notional": big, **fields}
        ),
        portfolio=PortfolioLimits(max_gross_notional=big, max_net_notional=big),
    )


def state(grid: Grid, position_lots: int = 0) -> CheckState:
    return CheckState(now_ns=NOW, grid=grid, market=MARKET, position_lots=position_lots)


def test_a_position_cut_below_the_minimum_quantity_drops_that_level() -> None:
    proposed = Ladder(
        bids=(
            QuoteLevel(price_ticks=9_990, size_lots=6),
            QuoteLevel(price_ticks=9_980, size_lots=6),
        ),
        asks=(QuoteLevel(price_ticks=10_010, size_lots=6),),
    )
    # room for 8 more lots long: 6 + 2 would be cut, and 2 lots is below the minimum of 5
    decision = check_intent(proposed, state(MIN_QTY, 12), limits(max_position_lots=20))
    assert decision.ladder.bids == (QuoteLevel(price_ticks=9_990, size_lots=6),)
    assert decision.ladder.asks == (QuoteLevel(price_ticks=10_010, size_lots=6),)
    position = next(r for r in decision.events if r.check == "position_lots")
    assert position.outcome is Outcome.REDUCE
    assert "below the venue's minimum order" in position.detail


def test_an_order_size_cut_below_the_minimum_notional_drops_every_level_and_pulls() -> None:
    proposed = Ladder(
        bids=(QuoteLevel(price_ticks=9_990, size_lots=10),),
        asks=(QuoteLevel(price_ticks=10_010, size_lots=10),),
    )
    # cut to 4 lots: worth about 40, under the minimum notional of 45
    decision = check_intent(proposed, state(MIN_NOTIONAL), limits(max_order_lots=4))
    assert decision.action is Action.PULL
    assert decision.ladder.is_empty
    order_qty = next(r for r in decision.events if r.check == "max_order_qty")
    assert order_qty.outcome is Outcome.BLOCK


def test_a_cut_that_stays_above_the_minimums_is_unchanged() -> None:
    proposed = Ladder(
        bids=(QuoteLevel(price_ticks=9_990, size_lots=10),),
        asks=(QuoteLevel(price_ticks=10_010, size_lots=10),),
    )
    decision = check_intent(proposed, state(MIN_NOTIONAL), limits(max_order_lots=5))
    assert decision.ladder == Ladder(
        bids=(QuoteLevel(price_ticks=9_990, size_lots=5),),
        asks=(QuoteLevel(price_ticks=10_010, size_lots=5),),
    )


def test_no_cut_of_a_valid_ladder_ever_leaves_an_order_below_the_minimums() -> None:
    rng = random.Random(16)
    grids = (MIN_QTY, MIN_NOTIONAL)
    for _ in range(2_000):
        grid = rng.choice(grids)

        def side(start: int, step: int, grid: Grid = grid) -> tuple[QuoteLevel, ...]:
            prices = [start + step * i for i in range(rng.randint(0, 4))]
            return tuple(
                QuoteLevel(price_ticks=p, size_lots=grid.min_lots(p) + rng.randint(0, 8))
                for p in prices
            )

        proposed = Ladder(side(9_990, -10), side(10_010, 10))
        rules = limits(
            max_position_lots=rng.randint(0, 60),
            max_order_lots=rng.randint(1, 12),
            max_order_notional=Decimal(rng.randint(20, 200)),
            max_position_notional=Decimal(rng.randint(0, 600)),
            max_open_orders=rng.randint(0, 8),
        )
        decision = check_intent(proposed, state(grid, rng.randint(-30, 30)), rules)
        for level in decision.ladder.bids + decision.ladder.asks:
            assert level.size_lots >= grid.min_lots(level.price_ticks), (proposed, decision)

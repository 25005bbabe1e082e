"""Per-order and market checks, each at its boundary, and how `check_intent` composes them."""

from __future__ import annotations

import random
from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import Ladder, QuoteLevel
from risk.checks import (
    check_intent,
    check_max_open_orders,
    check_max_order_notional,
    check_max_order_qty,
    check_price_band,
    check_stale_market_data,
)
from risk.limits import PortfolioLimits, RiskLimits, SymbolLimits
from risk.verdicts import Action, CheckState, MarketView, Outcome

NOW = 1_000_000_000_000
# Price 100.00 = 10_000 ticks of 0.01; one lot = 1 unit, so one lot at mid is worth 100.
INSTRUMENT = Grid("BTCUSDT", Decimal("0.01"), Decimal(1))
MARKET = MarketView(bid_price_ticks=9_999, ask_price_ticks=10_001, ts_received_ns=NOW)


def limits(**fields: object) -> RiskLimits:
    symbol = SymbolLimits.model_validate(fields)
    return RiskLimits(
        default=symbol,
        portfolio=PortfolioLimits(
            max_gross_notional=Decimal(1_000_000), max_net_notional=Decimal(1_000_000)
        ),
    )


def state(**fields: object) -> CheckState:
    values: dict[str, object] = {"now_ns": NOW, "grid": INSTRUMENT, "market": MARKET}
    values.update(fields)
    return CheckState(**values)  # type: ignore[arg-type]


def ladder(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> Ladder:
    return Ladder(
        tuple(QuoteLevel(price_ticks=price, size_lots=size) for price, size in bids),
        tuple(QuoteLevel(price_ticks=price, size_lots=size) for price, size in asks),
    )


def test_book_exactly_at_stale_limit_passes_and_one_nanosecond_older_blocks() -> None:
    proposed = ladder([(9_990, 1)], [(10_010, 1)])
    rules = limits(stale_after_ms=100)
    at_limit = state(now_ns=NOW + 100_000_000)
    assert check_stale_market_data(proposed, at_limit, rules).outcome is Outcome.PASS
    past = state(now_ns=NOW + 100_000_001)
    result = check_stale_market_data(proposed, past, rules)
    assert result.outcome is Outcome.BLOCK
    assert result.ladder.is_empty
    assert result.limit == 100


def test_missing_book_or_feed_not_live_blocks() -> None:
    proposed = ladder([(9_990, 1)], [])
    assert check_stale_market_data(proposed, state(market=None), limits()).outcome is Outcome.BLOCK
    down = MarketView(9_999, 10_001, NOW, live=False)
    assert check_stale_market_data(proposed, state(market=down), limits()).outcome is Outcome.BLOCK


def test_level_exactly_on_the_price_band_stays_and_one_tick_outside_is_dropped() -> None:
    # Mid 10_000 ticks; 50 bps = 50 ticks.
    rules = limits(price_band_bps=50)
    inside = ladder([(9_950, 1)], [(10_050, 1)])
    assert check_price_band(inside, state(), rules).outcome is Outcome.PASS
    outside = ladder([(9_949, 1), (9_990, 2)], [(10_050, 1)])
    result = check_price_band(outside, state(), rules)
    assert result.outcome is Outcome.REDUCE
    assert result.ladder == ladder([(9_990, 2)], [(10_050, 1)])
    assert result.observed == Decimal("51")
    assert result.limit == 50


def test_fat_finger_on_every_level_blocks() -> None:
    result = check_price_band(ladder([(5_000, 1)], [(20_000, 1)]), state(), limits())
    assert result.outcome is Outcome.BLOCK


def test_order_size_at_limit_passes_and_above_is_cut_to_the_limit() -> None:
    rules = limits(max_order_lots=5)
    assert check_max_order_qty(ladder([(9_990, 5)], []), state(), rules).outcome is Outcome.PASS
    result = check_max_order_qty(ladder([(9_990, 6)], [(10_010, 2)]), state(), rules)
    assert result.outcome is Outcome.REDUCE
    assert result.ladder == ladder([(9_990, 5)], [(10_010, 2)])
    assert (result.observed, result.limit) == (6, 5)


def test_order_notional_at_limit_passes_and_above_is_cut_to_what_fits() -> None:
    # 3 lots at 100.00 = 300.
    rules = limits(max_order_notional=300)
    fits = ladder([(10_000, 3)], [])
    assert check_max_order_notional(fits, state(), rules).outcome is Outcome.PASS
    result = check_max_order_notional(ladder([(10_000, 4)], [(10_001, 3)]), state(), rules)
    assert result.outcome is Outcome.REDUCE
    # 3 lots at 100.01 = 300.03 > 300, so the ask is cut to 2.
    assert result.ladder == ladder([(10_000, 3)], [(10_001, 2)])
    assert result.observed == Decimal(400)


def test_open_orders_at_limit_pass_and_beyond_drop_the_outermost_of_the_longer_side() -> None:
    rules = limits(max_open_orders=3)
    three = ladder([(9_990, 1), (9_980, 1)], [(10_010, 1)])
    assert check_max_open_orders(three, state(), rules).outcome is Outcome.PASS
    five = ladder([(9_990, 1), (9_980, 1), (9_970, 1)], [(10_010, 1), (10_020, 1)])
    result = check_max_open_orders(five, state(), rules)
    assert result.outcome is Outcome.REDUCE
    assert result.ladder == ladder([(9_990, 1)], [(10_010, 1), (10_020, 1)])


def test_zero_open_orders_allowed_blocks_everything() -> None:
    result = check_max_open_orders(
        ladder([(9_990, 1)], []), state(), limits(max_open_orders=0, max_order_actions=0)
    )
    assert result.outcome is Outcome.BLOCK


def test_intent_within_every_limit_is_published_unchanged() -> None:
    proposed = ladder([(9_990, 1), (9_980, 1)], [(10_010, 1), (10_020, 1)])
    decision = check_intent(proposed, state(), limits())
    assert decision.action is Action.PUBLISH
    assert decision.ladder == proposed
    assert decision.events == ()


def test_stale_book_turns_an_intent_into_a_pull_with_one_event() -> None:
    decision = check_intent(ladder([(9_990, 1)], []), state(market=None), limits())
    assert decision.action is Action.PULL
    assert [event.check for event in decision.events] == ["stale_market_data"]


def test_each_reducing_check_reports_its_own_event_and_the_result_combines_them() -> None:
    proposed = ladder([(9_990, 9), (9_000, 1)], [(10_010, 1)])
    decision = check_intent(proposed, state(), limits(max_order_lots=5, price_band_bps=100))
    assert decision.action is Action.PUBLISH
    assert decision.ladder == ladder([(9_990, 5)], [(10_010, 1)])
    assert {event.check for event in decision.events} == {"price_band", "max_order_qty"}


def test_intent_with_nothing_left_after_checks_is_a_pull() -> None:
    decision = check_intent(ladder([(5_000, 1)], []), state(), limits())
    assert decision.action is Action.PULL
    assert decision.ladder.is_empty


def test_an_empty_intent_is_a_pull_without_events() -> None:
    decision = check_intent(Ladder(), state(), limits())
    assert decision.action is Action.PULL
    assert decision.events == ()


def test_order_notional_cut_is_each_level_clamped_to_the_lots_within_the_limit() -> None:
    # Held against the rule itself, including limits a level is worth exactly, a grid whose
    # lot value makes the quotient inexact, and levels of no size or price.
    rng = random.Random(3)
    odd = Grid("ODDUSDT", Decimal("0.0003"), Decimal("0.007"))
    for _ in range(2000):
        grid = rng.choice((INSTRUMENT, odd))
        levels = [(rng.randint(-1, 12_000), rng.randint(-1, 9)) for _ in range(rng.randint(0, 4))]
        bids, asks = levels[: len(levels) // 2], levels[len(levels) // 2 :]
        worth = [grid.notional(price, size) for price, size in levels]
        limit = rng.choice([*worth, Decimal(rng.randint(0, 2_000)), Decimal("333.3333")])
        proposed = ladder(bids, asks)
        result = check_max_order_notional(
            proposed, state(grid=grid), limits(max_order_notional=str(max(limit, Decimal(0))))
        )
        limit = max(limit, Decimal(0))

        def cut(
            side: list[tuple[int, int]], grid: Grid = grid, limit: Decimal = limit
        ) -> list[tuple[int, int]]:
            sizes = [(p, min(s, grid.lots_within(limit, p))) for p, s in side]
            return [(p, s) for p, s in sizes if s > 0]

        assert result.ladder == ladder(cut(bids), cut(asks)), (levels, limit)
        assert result.observed == max(worth, default=Decimal(0))

"""The per-symbol state machine: gates pull at once, hysteresis suppresses, obligations count."""

from __future__ import annotations

from decimal import Decimal

from mm_proto import Grid
from mm_proto.quoting import QuoteLevel
from quoter.fair_value import Touch
from quoter.params import QuoterParams
from quoter.strategy import SymbolQuoter

SECOND = 1_000_000_000
NOON = 20_000 * 86_400 * SECOND + 12 * 3_600 * SECOND
BTC = Grid("BTCUSDT", Decimal("0.1"), Decimal("0.001"), min_qty_lots=1, min_notional=Decimal(5))
REBATE = -0.0001  # our maker fee rate
PARAMS = QuoterParams(
    min_spread_bps=1.0,
    k_vola_spread=0.0,
    risk_aversion=0.0,
    level_size_lots=10,
    max_inventory_lots=50,
    refresh_price_ticks=5,
    max_quote_age_s=10.0,
)


def touch(bid: int = 999_990, ask: int = 1_000_010, update_id: int = 1, ts_ns: int = NOON) -> Touch:
    return Touch(bid, 5, ask, 5, update_id=update_id, ts_ns=ts_ns)


def quoting(params: QuoterParams = PARAMS) -> SymbolQuoter:
    quoter = SymbolQuoter(BTC, params, REBATE)
    decision = quoter.on_touch(touch(), NOON)
    assert decision.publish
    assert decision.ladder.bids == (QuoteLevel(price_ticks=999_900, size_lots=10),)
    return quoter


def test_the_first_touch_publishes_a_ladder_carrying_its_update_id() -> None:
    quoter = SymbolQuoter(BTC, PARAMS, REBATE)
    decision = quoter.on_touch(touch(update_id=77), NOON)
    assert (decision.reason, decision.update_id, decision.pull_reason) == ("first", 77, "")


def test_small_moves_are_suppressed_and_counted_as_such() -> None:
    quoter = quoting()
    decision = quoter.on_touch(touch(999_992, 1_000_012, 2), NOON + 1)
    assert not decision.publish
    assert decision.suppressed
    unchanged = quoter.on_touch(touch(999_990, 1_000_010, 3), NOON + 2)
    assert not unchanged.publish
    assert not unchanged.suppressed


def test_a_move_past_the_threshold_is_published() -> None:
    quoter = quoting()
    decision = quoter.on_touch(touch(999_995, 1_000_015, 2), NOON + 1)
    assert decision.reason == "price"


def test_a_stale_feed_pulls_at_once_and_recovery_requotes() -> None:
    quoter = quoting()
    pulled = quoter.on_feed(False, NOON + 1)
    assert (pulled.publish, pulled.ladder.is_empty, pulled.pull_reason) == (True, True, "stale")
    assert quoter.on_feed(True, NOON + 2).ladder.bids


def test_silence_longer_than_stale_after_pulls_on_the_timer() -> None:
    quoter = quoting()
    assert not quoter.on_timer(NOON + SECOND).publish
    assert quoter.on_timer(NOON + 6 * SECOND).pull_reason == "stale"


def test_halt_wins_over_every_other_gate_except_disabled() -> None:
    quoter = quoting()
    quoter.on_feed(False, NOON)
    assert quoter.on_halt(True, NOON + 1).pull_reason == "halted"
    disabled = PARAMS.model_copy(update={"enabled": False})
    assert quoter.set_params(disabled, NOON + 2).pull_reason == "disabled"


def test_an_unpriceable_touch_pulls_quotes() -> None:
    quoter = quoting()
    decision = quoter.on_touch(touch(1_000_010, 1_000_010, 2), NOON + 1)
    assert (decision.ladder.is_empty, decision.pull_reason) == (True, "unusable_book")


def test_outside_the_trading_windows_quotes_are_pulled() -> None:
    params = PARAMS.model_copy(update={"trading_windows": ("13:00-14:00",)})
    quoter = SymbolQuoter(BTC, params, REBATE)
    assert quoter.on_touch(touch(), NOON).pull_reason == "outside_window"
    inside = NOON + 3_600 * SECOND
    assert quoter.on_touch(touch(update_id=2), inside).ladder.bids


def test_a_fill_starts_a_cooldown_when_configured_and_quoting_resumes_after_it() -> None:
    params = PARAMS.model_copy(update={"cooldown_s": 2.0, "cooldown_events": ("fill",)})
    quoter = quoting(params)
    assert quoter.on_fill(NOON + 1).pull_reason == "cooldown"
    quoter.on_touch(touch(update_id=2), NOON + SECOND)
    assert quoter.on_timer(NOON + SECOND + 1).pull_reason == "cooldown"
    assert quoter.on_timer(NOON + 2 * SECOND + 1).ladder.bids


def test_a_fill_without_a_configured_cooldown_changes_nothing() -> None:
    quoter = quoting()
    assert not quoter.on_fill(NOON + 1).publish


def test_a_long_position_lowers_both_quotes_when_risk_averse() -> None:
    params = PARAMS.model_copy(update={"risk_aversion": 1.0, "max_inventory_lots": 1_000})
    quoter = quoting(params)
    for step in range(1, 60):  # give the estimator some volatility
        price = 999_990 + (step % 2) * 200
        now = NOON + step * SECOND
        quoter.on_touch(touch(price, price + 20, step + 1, now), now)
    assert quoter.volatility.variance_per_second() > 0
    flat = quoter.target_ladder(NOON + 60 * SECOND)
    quoter.inventory_lots = 500
    long = quoter.target_ladder(NOON + 60 * SECOND)
    assert long.bids[0].price_ticks < flat.bids[0].price_ticks
    assert long.asks[0].price_ticks < flat.asks[0].price_ticks


def test_obligation_mode_tops_up_depth_and_coverage_counts_snapshots() -> None:
    params = PARAMS.model_copy(
        update={
            "min_spread_bps": 8.0,
            "obligation_enabled": True,
            "obligation_notional_5bps": 2_000.0,
            "obligation_notional_10bps": 3_000.0,
        }
    )
    quoter = SymbolQuoter(BTC, params, REBATE)
    decision = quoter.on_touch(touch(), NOON)
    assert QuoteLevel(price_ticks=999_500, size_lots=21) in decision.ladder.bids
    quoter.on_timer(NOON + 1)  # schedules the first snapshot at NOON + 10 s
    assert quoter.coverage.snapshots == 0
    quoter.on_touch(touch(update_id=2, ts_ns=NOON + 9 * SECOND), NOON + 9 * SECOND)
    quoter.on_timer(NOON + 10 * SECOND)
    assert (quoter.coverage.snapshots, quoter.coverage.met) == (1, 1)
    quoter.on_feed(False, NOON + 11 * SECOND)
    quoter.on_timer(NOON + 20 * SECOND)
    assert quoter.coverage.coverage() == 0.5


def test_a_new_tick_size_forgets_the_book_until_the_next_update() -> None:
    quoter = quoting()
    coarser = Grid("BTCUSDT", Decimal(1), Decimal("0.001"), min_notional=Decimal(5))
    assert quoter.set_instrument(coarser, True, NOON + 1).pull_reason == "stale"
    assert quoter.on_touch(touch(99_999, 100_001, 2), NOON + 2).ladder.bids


def test_an_instrument_the_venue_stops_trading_is_pulled_until_it_trades_again() -> None:
    quoter = quoting()
    assert quoter.set_instrument(BTC, False, NOON + 1).pull_reason == "not_trading"
    assert quoter.set_instrument(BTC, True, NOON + 2).ladder.bids


def test_without_a_grid_nothing_is_quoted_until_one_arrives() -> None:
    quoter = SymbolQuoter(None, PARAMS, REBATE)
    assert quoter.on_touch(touch(), NOON).pull_reason == "no_instrument"
    assert not quoter.obligation_met()
    assert quoter.set_instrument(BTC, True, NOON + 1).ladder.bids == (
        QuoteLevel(price_ticks=999_900, size_lots=10),
    )


def test_buying_flow_lifts_both_quotes_when_the_flow_signal_is_on() -> None:
    params = PARAMS.model_copy(update={"trade_flow_skew_bps": 0.5})
    quoter = quoting(params)
    quiet = quoter.target_ladder(NOON)
    quoter.on_trade(taker_buys=True, size_lots=50, ts_ns=NOON)
    lifted = quoter.target_ladder(NOON)
    # All buys: imbalance +1, fair value up 0.5 bp = 50 ticks; both sides follow (the 1 bp
    # half-spread of the higher price rounds each side one tick outwards).
    assert lifted.bids[0].price_ticks - quiet.bids[0].price_ticks == 49
    assert lifted.asks[0].price_ticks - quiet.asks[0].price_ticks == 51


def test_configuring_at_start_rebuilds_estimators_but_keeps_the_gates_learned() -> None:
    quoter = SymbolQuoter(BTC, PARAMS, REBATE)
    quoter.on_halt(True, NOON)
    quoter.on_position(7, NOON)
    quoter.configure(PARAMS.model_copy(update={"volatility_horizon_s": 5.0}))
    assert quoter.volatility.horizon_s == 5.0
    assert (quoter.halted, quoter.inventory_lots) == (True, 7)
    assert quoter.on_touch(touch(), NOON + 1).pull_reason == "halted"


REQUOTE_FLOOR = PARAMS.model_copy(update={"min_requote_interval_ms": 2_000})


def test_a_requote_within_the_minimum_interval_waits_for_it_then_goes_out() -> None:
    quoter = quoting(REQUOTE_FLOOR)
    moved = touch(999_995, 1_000_015, 2)
    held = quoter.on_touch(moved, NOON + SECOND)
    assert (held.publish, held.suppressed) == (False, True)
    assert not quoter.on_timer(NOON + 2 * SECOND - 1).publish
    sent = quoter.on_timer(NOON + 2 * SECOND)
    assert sent.reason == "price"
    at_once = quoting().on_touch(moved, NOON + SECOND)
    assert sent.ladder == at_once.ladder != quoting().resting


def test_a_pull_is_never_held_back_by_the_minimum_requote_interval() -> None:
    quoter = quoting(REQUOTE_FLOOR)
    pulled = quoter.on_halt(True, NOON + 1)
    assert (pulled.publish, pulled.ladder.is_empty, pulled.pull_reason) == (True, True, "halted")


def test_a_ladder_dropping_its_side_at_the_inventory_limit_is_never_held_back() -> None:
    quoter = quoting(REQUOTE_FLOOR)
    full = quoter.on_position(50, NOON + 1)
    assert full.publish
    assert full.ladder.bids == ()
    assert full.ladder.asks


def test_the_first_requote_after_a_fill_is_not_held_back_by_the_minimum_interval() -> None:
    quoter = quoting(REQUOTE_FLOOR)
    moved = touch(999_995, 1_000_015, 2)
    assert not quoter.on_touch(moved, NOON + SECOND).publish  # held back: no fill yet
    after_fill = quoter.on_fill(NOON + SECOND + 1)
    assert after_fill.reason == "price"
    moved_again = touch(999_990, 1_000_010, 3)
    assert not quoter.on_touch(moved_again, NOON + SECOND + 2).publish  # the floor again


def test_a_ladder_the_market_moved_through_is_replaced_at_once_despite_the_interval() -> None:
    quoter = quoting(REQUOTE_FLOOR)  # resting bid 999_900
    resting = quoter.resting
    assert resting is not None
    through_bid = touch(999_880, 999_900, 2)  # the ask came down onto our bid
    replaced = quoter.on_touch(through_bid, NOON + SECOND)
    assert replaced.publish
    assert replaced.ladder.bids[0].price_ticks < 999_900
    through_ask = touch(resting.asks[0].price_ticks, resting.asks[0].price_ticks + 20, 3)
    assert quoting(REQUOTE_FLOOR).on_touch(through_ask, NOON + SECOND).publish
    near = touch(999_985, 1_000_005, 4)  # moved, but not through our quotes: held back
    assert quoting().on_touch(near, NOON + SECOND).publish  # a requote without the floor
    assert not quoting(REQUOTE_FLOOR).on_touch(near, NOON + SECOND).publish


def test_without_a_minimum_requote_interval_a_requote_goes_out_at_once() -> None:
    quoter = quoting(PARAMS.model_copy(update={"min_requote_interval_ms": 0}))
    assert quoter.on_touch(touch(999_995, 1_000_015, 2), NOON + 1).reason == "price"

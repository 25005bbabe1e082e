"""One symbol's quoting state machine: market data, inventory and gates in, ladder decisions out.

`SymbolQuoter` holds the estimators, the last touch, the inventory, the halt and feed flags and the
ladder last published, and turns each event into a `Decision`. It never touches the network or a
clock: callers pass `now_ns` (wall-clock Unix nanoseconds). Gates are checked in a fixed order, and
the first that holds pulls the quotes: disabled, halted, no instrument grid yet, not trading
(venue status), stale, outside the trading windows, cooldown. A pull is published at once (an
empty ladder differs from any resting one); quoting updates go through the refresh hysteresis and,
when `min_requote_interval_ms` is set, wait until that long after the last published ladder
(unless one of our orders filled since, or the market has moved through the last ladder: in
both cases an order the executor puts back at the old price would be killed as post-only
crossing, and that side would stay empty until the interval ended).
"""

from __future__ import annotations

from dataclasses import dataclass

from mm_proto import Grid
from mm_proto.quoting import Ladder
from quoter.fair_value import (
    NANOS_PER_SECOND,
    Touch,
    TradeFlowImbalance,
    VolatilityEstimator,
    fair_price,
    mid_price,
)
from quoter.hysteresis import RefreshRule, refresh_reason
from quoter.ladder import LadderSpec, quote_ladder
from quoter.obligation import ObligationCoverage, Requirement, meet_obligation, requirements_met
from quoter.params import QuoterParams
from quoter.pricing import BPS, SkewInputs, half_spread_ticks, quote_touch, reservation_price
from quoter.windows import Cooldown, TradingWindow, parse_window, within_windows


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after an event: publish `ladder` when `reason` is set, else nothing."""

    ladder: Ladder
    reason: str
    pull_reason: str
    update_id: int
    suppressed: bool = False

    @property
    def publish(self) -> bool:
        return bool(self.reason)


class SymbolQuoter:
    """The strategy for one instrument."""

    def __init__(
        self, instrument: Grid | None, params: QuoterParams, maker_fee_rate: float = 0.0
    ) -> None:
        self.instrument = instrument  # None until settings or the gateway give the grid
        self.maker_fee_rate = maker_fee_rate  # fraction of notional; negative is a rebate
        self.params = params
        self.volatility = VolatilityEstimator(params.volatility_horizon_s)
        self.flow = TradeFlowImbalance(params.trade_flow_horizon_s)
        self.coverage = ObligationCoverage(params.obligation_snapshot_s)
        self.windows: tuple[TradingWindow, ...] = tuple(map(parse_window, params.trading_windows))
        self.cooldown = Cooldown()
        self.touch: Touch | None = None
        self.touch_received_ns = 0
        self.feed_ok = True
        self.halted = False
        self.trading = True
        self.inventory_lots = 0
        self.resting: Ladder | None = None
        self.resting_since_ns = 0
        self.filled_since_published = False

    def configure(self, params: QuoterParams) -> None:
        """Apply params including restart-only ones, rebuilding the estimators they shape.

        Only for start-up, before market data flows: the estimators' history is discarded, while
        the gates already learned (halt, feed, inventory) are kept.
        """
        self.params = params
        self.volatility = VolatilityEstimator(params.volatility_horizon_s)
        self.flow = TradeFlowImbalance(params.trade_flow_horizon_s)
        self.coverage = ObligationCoverage(params.obligation_snapshot_s)
        self.windows = tuple(map(parse_window, params.trading_windows))

    def set_params(self, params: QuoterParams, now_ns: int) -> Decision:
        """Apply (already vetted) params and recompute at once."""
        self.params = params
        self.windows = tuple(map(parse_window, params.trading_windows))
        return self.decide(now_ns)

    def set_maker_fee(self, maker_fee_rate: float, now_ns: int) -> Decision:
        """Our maker fee rate for the instrument (the venue's, once the executor read it)."""
        self.maker_fee_rate = maker_fee_rate
        return self.decide(now_ns)

    def set_instrument(self, instrument: Grid, trading: bool, now_ns: int) -> Decision:
        """A new grid and venue status; a changed tick size invalidates every price held."""
        if self.instrument is not None and instrument.tick_size != self.instrument.tick_size:
            self.touch = None
            self.volatility = VolatilityEstimator(self.params.volatility_horizon_s)
        self.instrument = instrument
        self.trading = trading
        return self.decide(now_ns)

    def on_touch(self, touch: Touch, now_ns: int) -> Decision:
        """A new best bid/ask; a touch that cannot be priced pulls the quotes."""
        if touch.problem():
            self.touch = None
            return self.decide(now_ns, forced_pull="unusable_book")
        self.touch, self.touch_received_ns = touch, now_ns
        self.volatility.update(mid_price(touch), touch.ts_ns or now_ns)
        return self.decide(now_ns)

    def on_trade(self, taker_buys: bool, size_lots: int, ts_ns: int) -> None:
        self.flow.update(taker_buys, size_lots, ts_ns)

    def on_feed(self, ok: bool, now_ns: int) -> Decision:
        """The gateway's feed state; recovering may start a cooldown."""
        if ok and not self.feed_ok:
            self._maybe_cool_down("feed_recovered", now_ns)
        self.feed_ok = ok
        return self.decide(now_ns)

    def on_halt(self, halted: bool, now_ns: int) -> Decision:
        if self.halted and not halted:
            self._maybe_cool_down("halt_cleared", now_ns)
        self.halted = halted
        return self.decide(now_ns)

    def on_position(self, size_lots: int, now_ns: int) -> Decision:
        self.inventory_lots = size_lots
        return self.decide(now_ns)

    def on_fill(self, now_ns: int) -> Decision:
        self._maybe_cool_down("fill", now_ns)
        self.filled_since_published = True
        return self.decide(now_ns)

    def on_timer(self, now_ns: int) -> Decision:
        """Periodic: staleness by silence, windows and cooldowns ending, max age, coverage."""
        if self.params.obligation_enabled and self.coverage.due(now_ns):
            self.coverage.record(now_ns, self.obligation_met())
        return self.decide(now_ns)

    def _maybe_cool_down(self, event: str, now_ns: int) -> None:
        if event in self.params.cooldown_events:
            self.cooldown.trigger(event, now_ns, self.params.cooldown_s)

    def pull_reason(self, now_ns: int) -> str:
        """The first gate that forbids quoting now, or ""."""
        if not self.params.enabled:
            return "disabled"
        if self.halted:
            return "halted"
        if self.instrument is None:
            return "no_instrument"
        if not self.trading:
            return "not_trading"
        stale_ns = self.params.stale_after_s * NANOS_PER_SECOND
        if not self.feed_ok or self.touch is None or now_ns - self.touch_received_ns > stale_ns:
            return "stale"
        if not within_windows(self.windows, now_ns):
            return "outside_window"
        if self.cooldown.active(now_ns):
            return "cooldown"
        return ""

    def decide(self, now_ns: int, forced_pull: str = "") -> Decision:
        """The ladder we want now, and whether it is worth publishing."""
        pull = forced_pull or self.pull_reason(now_ns)
        candidate = Ladder() if pull or self.touch is None else self.target_ladder(now_ns)
        update_id = self.touch.update_id if self.touch else 0
        rule = RefreshRule(
            self.params.refresh_price_ticks,
            self.params.refresh_size_pct,
            int(self.params.max_quote_age_s * NANOS_PER_SECOND),
        )
        reason = refresh_reason(self.resting, self.resting_since_ns, candidate, now_ns, rule)
        if reason and self._too_soon(candidate, now_ns):
            reason = ""  # held back: published once the interval has passed, if still wanted
        if reason:
            self.resting, self.resting_since_ns = candidate, now_ns
            self.filled_since_published = False
        suppressed = not reason and candidate != self.resting
        return Decision(candidate, reason, pull, update_id, suppressed)

    def _too_soon(self, candidate: Ladder, now_ns: int) -> bool:
        """Whether `min_requote_interval_ms` holds `candidate` back: never a pull, nor a ladder
        that drops a level on either side (both remove risk), nor the first after a fill, nor
        one replacing a ladder the market has moved through (post-only, its crossing levels are
        killed at the venue each time the executor puts them back: that side stays empty)."""
        interval_ns = self.params.min_requote_interval_ms * 1_000_000
        resting = self.resting
        if interval_ns == 0 or resting is None or now_ns - self.resting_since_ns >= interval_ns:
            return False
        if self.filled_since_published or self._crossed_by_market(resting):
            return False
        removes = len(candidate.bids) < len(resting.bids) or len(candidate.asks) < len(resting.asks)
        return not (candidate.is_empty or removes)

    def _crossed_by_market(self, resting: Ladder) -> bool:
        """Whether the touch has moved through our best bid or best ask."""
        touch = self.touch
        if touch is None:
            return False
        bid_crossed = bool(resting.bids) and resting.bids[0].price_ticks >= touch.ask_price_ticks
        ask_crossed = bool(resting.asks) and resting.asks[0].price_ticks <= touch.bid_price_ticks
        return bid_crossed or ask_crossed

    def requirements(self) -> tuple[Requirement, ...]:
        return (
            Requirement(5.0, self.params.obligation_notional_5bps),
            Requirement(10.0, self.params.obligation_notional_10bps),
        )

    def obligation_met(self) -> bool:
        """Does the resting ladder meet the two-sided depth requirement at the current mid?"""
        if self.touch is None or self.resting is None or self.resting.is_empty:
            return False
        if self.instrument is None:
            return False
        mid = mid_price(self.touch)
        return requirements_met(self.resting, mid, self.requirements(), self.instrument)

    def target_ladder(self, now_ns: int) -> Ladder:
        """Fair value → reservation price → touch prices → ladder (→ obligation top-up)."""
        if self.touch is None or self.instrument is None:
            raise ValueError(
                "target_ladder needs a touch and an instrument; check pull_reason first"
            )
        params, touch, instrument = self.params, self.touch, self.instrument
        fair = fair_price(touch, params.fair_value_source)
        fair *= 1 + self.flow.imbalance(now_ns) * params.trade_flow_skew_bps * BPS
        skew = SkewInputs(
            self.inventory_lots,
            params.risk_aversion,
            self.volatility.variance_per_second(),
            params.skew_horizon_s,
            params.max_skew_bps,
        )
        reservation = reservation_price(fair, skew, instrument)
        sigma = self.volatility.sigma(params.skew_horizon_s)
        half = half_spread_ticks(
            fair, params.min_spread_bps, params.k_vola_spread, sigma, self.maker_fee_rate
        )
        bid, ask = quote_touch(reservation, half, touch.bid_price_ticks, touch.ask_price_ticks)
        spec = LadderSpec(
            params.levels,
            params.level_spacing_ticks,
            params.level_spacing_bps,
            params.level_size_lots,
            params.level_size_multiplier,
        )
        max_lots = params.max_inventory_lots
        ladder = quote_ladder(bid, ask, spec, fair, self.inventory_lots, max_lots, instrument)
        if not params.obligation_enabled:
            return ladder
        capacity = (max(0, max_lots - self.inventory_lots), max(0, max_lots + self.inventory_lots))
        touch_prices = (touch.bid_price_ticks, touch.ask_price_ticks)
        return meet_obligation(
            ladder, mid_price(touch), self.requirements(), touch_prices, capacity, instrument
        )

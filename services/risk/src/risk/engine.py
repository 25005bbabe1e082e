"""Risk's whole state and decisions, without I/O: what to send for an intent, and when to halt.

The service feeds it decoded facts (intents, books, feed status, fills, positions, rejects,
heartbeats) with the wall-clock time, and publishes what it returns. While halted, every answer is
a cancel-all target and no intent gets through. `resume` (an operator) lifts a halt, refused while
a clock-driven trigger (market data down, executor silent, EXEC behind) still holds; `heal` lifts
a transient one by itself once every transient condition has been clear for `halt_heal_after_ms`
(see `risk.kill_switch`). A hard trip while transiently halted turns the halt hard.
`freshness_pulls` is the clock's look at each quoting symbol's inputs (see `risk.freshness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from mm_proto import DEFAULT_COLOR, Grid
from mm_proto.quoting import EMPTY_LADDER, Ladder, ladder_changes
from risk.checks import check_intent
from risk.freshness import Staleness, stale_input
from risk.kill_switch import KillSwitch, Trigger, Trip
from risk.limits import RiskLimits
from risk.passing import PassBounds
from risk.portfolio import Portfolio
from risk.throttle_checks import ActionWindow
from risk.verdicts import Action, CheckState, Decision, MarketView


@dataclass(frozen=True)
class HaltStatus:
    """The kill switch as risk stores it: halted or not, why, by whom, since when."""

    halted: bool = False
    reason: str = ""
    by: str = ""
    ts_changed_ns: int = 0
    transient: bool = False  # heals by itself once its condition clears (see risk.kill_switch)


@dataclass(frozen=True)
class Target:
    """A target to publish for one symbol."""

    symbol: str
    ladder: Ladder
    intent_id: str
    cancel_all: bool = False
    reduce_only: bool = False  # a flatten: orders may only reduce the position
    time_in_force: str = "post_only"
    color: str = DEFAULT_COLOR  # the intent's parameter set, onto OrderTarget.color


@dataclass(frozen=True)
class IntentOutcome:
    """What one intent led to: the checks' decision (None while halted) and the target, if any."""

    decision: Decision | None
    target: Target | None


class RiskEngine:
    """Limits, portfolio, kill switch, markets and the last published target per symbol."""

    def __init__(
        self,
        instruments: Mapping[str, Grid],
        limits: RiskLimits,
        halt: HaltStatus,
        now_ns: int,
    ) -> None:
        self.instruments = dict(instruments)
        self.limits = limits
        if halt.transient and halt.by == Trigger.POSITION_MISMATCH:
            # Restored after a restart, the disagreement is no longer in memory: nothing could
            # show it has cleared, so only an operator's resume (which adopts the venue's
            # positions) lifts it.
            halt = replace(halt, transient=False)
        self.halt_status = halt
        self.portfolio = Portfolio(instruments)
        self.kill_switch = KillSwitch(instruments, limits.kill_switch, now_ns)
        self._markets: dict[str, MarketView] = {}
        self._published: dict[str, Ladder] = {}
        self._last_change_ns: dict[str, int] = {}
        self._windows = {
            symbol: ActionWindow(limits.for_symbol(symbol).order_rate_window_ms)
            for symbol in instruments
        }
        self._last_intent: dict[str, tuple[Ladder, str]] = {}
        self._colors: dict[str, str] = {}  # the color of each symbol's last intent
        self._last_intent_ns: dict[str, int] = {}
        self._held: set[str] = set()
        self._clear_since_ns: int | None = None
        # The limits' integer form per symbol for the checks, with the limits it was built from.
        self._bounds: dict[str, tuple[RiskLimits, PassBounds]] = {}

    @property
    def halted(self) -> bool:
        return self.halt_status.halted

    def on_intent(
        self, symbol: str, ladder: Ladder, intent_id: str, now_ns: int, color: str = DEFAULT_COLOR
    ) -> IntentOutcome:
        """Check an intent; while halted the answer is always a cancel-all target."""
        self._colors[symbol] = color
        if self.halted:
            return IntentOutcome(None, self.cancel_all_target(symbol, intent_id))
        self._last_intent[symbol] = (ladder, intent_id)
        self._last_intent_ns[symbol] = now_ns
        return self._decide(symbol, ladder, intent_id, now_ns)

    def recheck(self, symbol: str, now_ns: int) -> IntentOutcome | None:
        """Re-run the last intent after the position moved; an outcome only if the target moves."""
        last = self._last_intent.get(symbol)
        if self.halted or last is None:
            return None
        ladder, intent_id = last
        decision = self._check(symbol, ladder, now_ns)
        if decision.action is Action.HOLD or decision.ladder == self._published.get(symbol):
            return None
        return self._decide(symbol, ladder, intent_id, now_ns, decision)

    def _decide(
        self,
        symbol: str,
        ladder: Ladder,
        intent_id: str,
        now_ns: int,
        decision: Decision | None = None,
    ) -> IntentOutcome:
        """Act on the checks' decision for `ladder` (`decision` when the caller has it already)."""
        if decision is None:
            decision = self._check(symbol, ladder, now_ns)
        if decision.action is Action.HOLD:
            self._held.add(symbol)
            return IntentOutcome(decision, None)
        self._held.discard(symbol)
        previous = self._published.get(symbol)
        if decision.ladder != previous:
            self._last_change_ns[symbol] = now_ns
            self._windows[symbol].record(now_ns, ladder_changes(previous, decision.ladder))
            self._published[symbol] = decision.ladder
        color = self._colors.get(symbol, DEFAULT_COLOR)
        return IntentOutcome(decision, Target(symbol, decision.ladder, intent_id, color=color))

    def _check(self, symbol: str, ladder: Ladder, now_ns: int) -> Decision:
        limits, known = self.limits, self._bounds.get(symbol)
        if known is None or known[0] is not limits:
            known = self._bounds[symbol] = (limits, PassBounds.of(limits, self.instruments[symbol]))
        return check_intent(ladder, self.check_state(symbol, now_ns), limits, known[1])

    def retry_held(self, now_ns: int) -> list[IntentOutcome]:
        """Retry intents a throttle held back: the quoter may never resend an unchanged one."""
        if self.halted:
            return []
        outcomes = []
        for symbol in sorted(self._held):
            ladder, intent_id = self._last_intent[symbol]
            outcome = self._decide(symbol, ladder, intent_id, now_ns)
            if outcome.target is not None:
                outcomes.append(outcome)
        return outcomes

    def check_state(self, symbol: str, now_ns: int) -> CheckState:
        gross, net = self.portfolio.exposure_excluding(symbol)
        return CheckState(
            now_ns=now_ns,
            grid=self.instruments[symbol],
            position_lots=self.portfolio.position_lots(symbol),
            market=self._markets.get(symbol),
            other_gross_notional=gross,
            other_net_notional=net,
            previous_target=self._published.get(symbol),
            last_change_ns=self._last_change_ns.get(symbol),
            actions_in_window=self._windows[symbol].used(now_ns),
        )

    def cancel_all_target(self, symbol: str, intent_id: str = "") -> Target:
        self._published[symbol] = EMPTY_LADDER
        return Target(symbol, EMPTY_LADDER, intent_id, cancel_all=True)

    def on_book(self, symbol: str, bid_ticks: int, ask_ticks: int, ts_ns: int, now_ns: int) -> str:
        """Take a top of book; returns "" or why it was refused (one-sided or crossed)."""
        if bid_ticks <= 0 or ask_ticks <= 0:
            return f"one-sided book: bid {bid_ticks} ask {ask_ticks} ticks"
        if bid_ticks >= ask_ticks:
            return f"crossed book: bid {bid_ticks} >= ask {ask_ticks} ticks"
        previous = self._markets.get(symbol)
        live = previous.live if previous is not None else True
        self._markets[symbol] = MarketView(bid_ticks, ask_ticks, ts_ns or now_ns, live)
        self.kill_switch.feeds.on_book(symbol, now_ns)
        self.portfolio.mark(symbol, self._markets[symbol].mid_price_ticks)
        return ""

    def on_feed_status(self, symbol: str, live: bool, now_ns: int) -> None:
        market = self._markets.get(symbol)
        if market is not None:
            self._markets[symbol] = replace(market, live=live)
        elif not live:
            self._markets.pop(symbol, None)
        self.kill_switch.feeds.on_status(symbol, live, now_ns)

    def on_fill(
        self,
        symbol: str,
        fill_id: str,
        signed_lots: int,
        price_ticks: int,
        fee: Decimal,
        now_ns: int,
        seq: int | None = None,
        *,
        received_ns: int | None = None,
    ) -> Trip | None:
        self.portfolio.apply_fill(
            symbol, fill_id, signed_lots, price_ticks, fee, seq, received_ns=received_ns
        )
        return self.kill_switch.on_pnl(now_ns, self.portfolio.total_pnl())

    def on_position(
        self,
        symbol: str,
        venue_lots: int,
        baseline_entry_ticks: Decimal | None = None,
        seq: int | None = None,
        *,
        read_ns: int | None = None,
    ) -> Trip | None:
        """A venue position snapshot, checked against what the fills add up to.

        With `baseline_entry_ticks` it is the executor's reconciliation baseline (its start, a
        resubscription): adopted as the truth, since after a restart of the venue or the stack
        the kept EXEC history may add up to an earlier venue's position. Its `seq` says which
        fills it includes (see `risk.baseline_seq`): those applied before it that it does not
        include move the position again, so the check compares like with like.
        """
        if baseline_entry_ticks is not None:
            self.portfolio.apply_position(
                symbol, venue_lots, baseline_entry_ticks, seq, read_ns=read_ns
            )
            # The baseline moved on by the fills matched after its read is the venue's position
            # now: it agrees with the fills by construction.
            venue_lots = self.portfolio.position_lots(symbol)
        return self.kill_switch.on_position(
            symbol, venue_lots, self.portfolio.position_lots(symbol)
        )

    def take_baseline_effects(self) -> dict[str, int]:
        """Fills re-applied onto a baseline or found already in one, since the last call."""
        effects = dict(self.portfolio.baseline_effects)
        self.portfolio.baseline_effects = dict.fromkeys(effects, 0)
        return effects

    def on_reject(self, ts_event_ns: int, now_ns: int) -> Trip | None:
        """Count a reject; one older than the reject window (a replay) is ignored."""
        window_ns = self.limits.kill_switch.reject_window_s * 1_000_000_000
        if now_ns - ts_event_ns >= window_ns:
            return None
        return self.kill_switch.on_reject(max(ts_event_ns, 0))

    def on_executor_heartbeat(self, now_ns: int) -> None:
        self.kill_switch.heartbeat.on_heartbeat(now_ns)

    def evaluate(self, now_ns: int) -> Trip | None:
        """The periodic look: PnL against its window and peak, feeds, executor heartbeat, EXEC.

        While transiently halted it still looks, so that a hard trip can harden the halt."""
        if self.halted and not self.halt_status.transient:
            return None
        return self.kill_switch.on_pnl(now_ns, self.portfolio.total_pnl()) or (
            self.kill_switch.evaluate(now_ns)
        )

    def on_exec_current(self, current_ns: int) -> None:
        """When the EXEC consumer was last caught up or moving (`ExecFeed.current_ns`)."""
        self.kill_switch.exec_lag.current_ns = current_ns

    def halt(self, reason: str, by: str, now_ns: int, transient: bool = False) -> bool:
        """Halt; False when already halted (the first reason stands), except that a hard halt
        replaces a transient one. `transient`: see `risk.kill_switch.TRANSIENT_TRIGGERS`."""
        if self.halted and (transient or not self.halt_status.transient):
            return False
        self.halt_status = HaltStatus(True, reason, by, now_ns, transient)
        self._clear_since_ns = None
        self._last_intent.clear()
        self._held.clear()
        return True

    def heal(self, now_ns: int) -> str:
        """Lift a transient halt whose conditions have all been clear for `halt_heal_after_ms`;
        returns "" or what was healed. Positions and the PnL and reject windows are kept."""
        status = self.halt_status
        if not (status.halted and status.transient):
            return ""
        if not self.kill_switch.transient_clear(now_ns):
            self._clear_since_ns = None
            return ""
        if self._clear_since_ns is None:
            self._clear_since_ns = now_ns
        clear_ms = (now_ns - self._clear_since_ns) // 1_000_000
        if clear_ms < self.limits.kill_switch.halt_heal_after_ms:
            return ""
        detail = f"{status.by} halt healed: clear for {clear_ms} ms ({status.reason})"
        self.halt_status = HaltStatus(False, detail, "risk", now_ns)
        self._published.clear()
        self._last_change_ns.clear()
        return detail

    def freshness_pulls(self, now_ns: int) -> list[tuple[Staleness, Target]]:
        """Cancel-all targets for quoting symbols with a stale input (each fires once: the symbol
        has no orders out afterwards until a fresh intent passes the checks)."""
        if self.halted:
            return []
        pulls = []
        for symbol in self.instruments:
            published = self._published.get(symbol)
            if published is None or published.is_empty:
                continue
            stale = stale_input(
                symbol,
                self.limits.for_symbol(symbol),
                self._markets.get(symbol),
                self._last_intent_ns.get(symbol),
                now_ns,
            )
            if stale is not None:
                self._last_intent.pop(symbol, None)
                self._held.discard(symbol)
                pulls.append((stale, self.cancel_all_target(symbol)))
        return pulls

    def resume(self, reason: str, by: str, now_ns: int) -> str:
        """Lift the halt; returns "" or why it cannot be lifted yet."""
        if not self.halted:
            return ""
        still = self.kill_switch.evaluate(now_ns)
        if still is not None:
            return f"{still.trigger.value} still holds: {still.detail}"
        for symbol, venue_lots in self.kill_switch.positions.venue_lots.items():
            entry = self.portfolio.position(symbol).entry_price_ticks
            self.portfolio.apply_position(symbol, venue_lots, entry)
        self.kill_switch.rearm(now_ns, self.portfolio.total_pnl())
        self.halt_status = HaltStatus(False, reason, by, now_ns)
        self._published.clear()
        self._last_change_ns.clear()
        return ""

    def market(self, symbol: str) -> MarketView | None:
        return self._markets.get(symbol)

    def apply_limits(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.kill_switch.limits = limits.kill_switch

    def status(self) -> dict[str, str]:
        """A flat description for `ctl.risk.status`."""
        data = {
            "halted": str(self.halted).lower(),
            "halt_reason": self.halt_status.reason,
            "halt_by": self.halt_status.by,
            "halt_transient": str(self.halt_status.transient).lower(),
            "total_pnl": str(self.portfolio.total_pnl()),
        }
        for symbol in self.instruments:
            position = self.portfolio.position(symbol)
            data[f"{symbol}.position_lots"] = str(position.size_lots)
            data[f"{symbol}.realized_pnl"] = str(position.realized_pnl)
            published = self._published.get(symbol)
            data[f"{symbol}.target_orders"] = str(published.order_count if published else 0)
            market = self._markets.get(symbol)
            data[f"{symbol}.mid_ticks"] = str(market.mid_price_ticks) if market else ""
        return data

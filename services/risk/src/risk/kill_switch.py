"""The automatic halt triggers: pure state machines fed with events and a clock (nanoseconds).

Each watch answers with a `Trip` (which trigger, what it saw, against which limit) when its
condition holds, else None. `KillSwitch` composes them.

Every trigger is either transient or hard (`TRANSIENT_TRIGGERS`). A transient trigger watches a
condition that can clear by itself: market data down (`md_down`), the executor's heartbeat lost
(`executor_heartbeat`), risk's EXEC consumer behind or unable to read the stream, which is also how
a store that is down shows (`exec_lag`), and executor positions that disagree with the fills
(`position_mismatch`, clear once a snapshot agrees again). Risk lifts a transient halt by itself
once `transient_clear` has held for `halt_heal_after_ms`. Hard triggers (loss over the window,
drawdown, a reject storm, a manual halt) stay until an operator resumes; `rearm` then starts the
PnL and reject windows afresh (the peak becomes the current PnL), while feed and heartbeat watches
keep their clocks, so a resume while the executor is still silent or a feed is still down trips
again at once.

Before the executor's first heartbeat the heartbeat watch allows `executor_startup_grace_ms` (or
the timeout, if longer) from the start of watching, so a risk started well before the executor
does not halt on a heartbeat that was never due.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from risk.limits import KillSwitchLimits

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000


class Trigger(StrEnum):
    MANUAL = "manual"
    PNL_WINDOW = "pnl_window"
    DRAWDOWN = "drawdown"
    REJECT_RATE = "reject_rate"
    MD_DOWN = "md_down"
    EXECUTOR_HEARTBEAT = "executor_heartbeat"
    POSITION_MISMATCH = "position_mismatch"
    EXEC_LAG = "exec_lag"


TRANSIENT_TRIGGERS: frozenset[str] = frozenset(
    {Trigger.MD_DOWN, Trigger.EXECUTOR_HEARTBEAT, Trigger.EXEC_LAG, Trigger.POSITION_MISMATCH}
)


def is_transient(trigger: str) -> bool:
    """Whether a halt by automatic trigger `trigger` (its value) heals by itself; a manual
    halt's trigger is "manual", whatever the operator's name."""
    return trigger in TRANSIENT_TRIGGERS


@dataclass(frozen=True)
class Trip:
    """Why the kill switch fired."""

    trigger: Trigger
    observed: Decimal
    limit: Decimal
    detail: str
    symbol: str = ""


class PnlWatch:
    """Loss over a sliding window, and drawdown from the highest PnL since (re)arming."""

    def __init__(self) -> None:
        self._samples: deque[tuple[int, Decimal]] = deque()
        self._peak: Decimal | None = None

    def rearm(self, now_ns: int, pnl: Decimal) -> None:
        self._samples.clear()
        self._samples.append((now_ns, pnl))
        self._peak = pnl

    def observe(self, now_ns: int, pnl: Decimal, limits: KillSwitchLimits) -> Trip | None:
        self._peak = pnl if self._peak is None else max(self._peak, pnl)
        self._samples.append((now_ns, pnl))
        horizon = now_ns - limits.pnl_window_s * _NS_PER_S
        while len(self._samples) > 1 and self._samples[1][0] <= horizon:
            self._samples.popleft()
        window_start = self._samples[0][1]
        loss = window_start - pnl
        if loss > limits.max_window_loss:
            return Trip(
                Trigger.PNL_WINDOW,
                loss,
                limits.max_window_loss,
                f"lost {loss} within {limits.pnl_window_s} s",
            )
        drawdown = self._peak - pnl
        if drawdown > limits.max_drawdown:
            return Trip(
                Trigger.DRAWDOWN,
                drawdown,
                limits.max_drawdown,
                f"PnL {pnl} is {drawdown} below its peak {self._peak}",
            )
        return None


class RejectWatch:
    """Order rejects within a sliding window."""

    def __init__(self) -> None:
        self._rejects: deque[int] = deque()

    def rearm(self) -> None:
        self._rejects.clear()

    def observe_reject(self, now_ns: int, limits: KillSwitchLimits) -> Trip | None:
        self._rejects.append(now_ns)
        horizon = now_ns - limits.reject_window_s * _NS_PER_S
        while self._rejects and self._rejects[0] <= horizon:
            self._rejects.popleft()
        count = len(self._rejects)
        if count > limits.max_rejects:
            return Trip(
                Trigger.REJECT_RATE,
                Decimal(count),
                Decimal(limits.max_rejects),
                f"{count} rejects within {limits.reject_window_s} s",
            )
        return None


class FeedWatch:
    """Per symbol, when market data was last known good (a live status or a book)."""

    def __init__(self, symbols: Iterable[str], now_ns: int) -> None:
        self._last_good = dict.fromkeys(symbols, now_ns)
        self._live = dict.fromkeys(self._last_good, True)

    def on_book(self, symbol: str, now_ns: int) -> None:
        if self._live.get(symbol, False):
            self._last_good[symbol] = now_ns

    def on_status(self, symbol: str, live: bool, now_ns: int) -> None:
        if symbol not in self._live:
            return
        self._live[symbol] = live
        if live:
            self._last_good[symbol] = now_ns

    def evaluate(self, now_ns: int, limits: KillSwitchLimits) -> Trip | None:
        for symbol, last_good in self._last_good.items():
            silent_ms = Decimal(now_ns - last_good) / _NS_PER_MS
            if silent_ms > limits.md_down_after_ms:
                state = "live but silent" if self._live[symbol] else "down"
                return Trip(
                    Trigger.MD_DOWN,
                    silent_ms,
                    Decimal(limits.md_down_after_ms),
                    f"{symbol} market data {state} for {silent_ms} ms",
                    symbol,
                )
        return None


class HeartbeatWatch:
    """When the executor's heartbeat was last heard (start of watching counts as heard); until
    the first one, the startup grace applies."""

    def __init__(self, now_ns: int) -> None:
        self._last_seen = now_ns
        self.heard = False

    def on_heartbeat(self, now_ns: int) -> None:
        self._last_seen = max(self._last_seen, now_ns)
        self.heard = True

    def evaluate(self, now_ns: int, limits: KillSwitchLimits) -> Trip | None:
        silent_ms = Decimal(now_ns - self._last_seen) / _NS_PER_MS
        bound = limits.executor_heartbeat_timeout_ms
        if not self.heard:
            bound = max(bound, limits.executor_startup_grace_ms)
        if silent_ms > bound:
            never = "" if self.heard else " (none since start)"
            return Trip(
                Trigger.EXECUTOR_HEARTBEAT,
                silent_ms,
                Decimal(bound),
                f"no executor heartbeat for {silent_ms} ms{never}",
            )
        return None


class ExecLagWatch:
    """When risk's EXEC consumer was last known caught up or moving (see `risk.exec_feed`)."""

    def __init__(self, now_ns: int) -> None:
        self.current_ns = now_ns

    def evaluate(self, now_ns: int, limits: KillSwitchLimits) -> Trip | None:
        behind_ms = Decimal(now_ns - self.current_ns) / _NS_PER_MS
        if behind_ms > limits.exec_lag_halt_after_ms:
            return Trip(
                Trigger.EXEC_LAG,
                behind_ms,
                Decimal(limits.exec_lag_halt_after_ms),
                f"executor facts (stream EXEC) not read for {behind_ms} ms",
            )
        return None


class MismatchWatch:
    """Executor position snapshots that disagree with the position the fill stream adds up to.

    One disagreeing snapshot is tolerated (a snapshot may overtake the fill it reflects); a run of
    `position_mismatch_snapshots` in a row for one symbol trips.
    """

    def __init__(self) -> None:
        self._runs: dict[str, int] = {}
        self.venue_lots: dict[str, int] = {}

    def on_snapshot(
        self, symbol: str, venue_lots: int, derived_lots: int, limits: KillSwitchLimits
    ) -> Trip | None:
        self.venue_lots[symbol] = venue_lots
        if venue_lots == derived_lots:
            self._runs[symbol] = 0
            return None
        run = self._runs.get(symbol, 0) + 1
        self._runs[symbol] = run
        if run >= limits.position_mismatch_snapshots:
            return Trip(
                Trigger.POSITION_MISMATCH,
                Decimal(venue_lots - derived_lots),
                Decimal(0),
                f"{symbol}: executor reports {venue_lots} lots, fills add up to "
                f"{derived_lots} lots, {run} snapshots in a row",
                symbol,
            )
        return None

    def rearm(self) -> None:
        self._runs.clear()

    def agree(self) -> bool:
        """True when no symbol's latest snapshot disagreed with its fills."""
        return not any(self._runs.values())


class KillSwitch:
    """Every automatic trigger together; the service feeds it and halts on the first `Trip`."""

    def __init__(self, symbols: Iterable[str], limits: KillSwitchLimits, now_ns: int) -> None:
        self.limits = limits
        self.pnl = PnlWatch()
        self.rejects = RejectWatch()
        self.feeds = FeedWatch(symbols, now_ns)
        self.heartbeat = HeartbeatWatch(now_ns)
        self.exec_lag = ExecLagWatch(now_ns)
        self.positions = MismatchWatch()

    def on_pnl(self, now_ns: int, pnl: Decimal) -> Trip | None:
        return self.pnl.observe(now_ns, pnl, self.limits)

    def on_reject(self, now_ns: int) -> Trip | None:
        return self.rejects.observe_reject(now_ns, self.limits)

    def on_position(self, symbol: str, venue_lots: int, derived_lots: int) -> Trip | None:
        return self.positions.on_snapshot(symbol, venue_lots, derived_lots, self.limits)

    def evaluate(self, now_ns: int) -> Trip | None:
        """The clock-driven triggers: market data down, executor heartbeat missing, EXEC behind."""
        return (
            self.feeds.evaluate(now_ns, self.limits)
            or self.heartbeat.evaluate(now_ns, self.limits)
            or self.exec_lag.evaluate(now_ns, self.limits)
        )

    def transient_clear(self, now_ns: int) -> bool:
        """No transient trigger's condition holds now (what healing a transient halt waits for)."""
        return self.evaluate(now_ns) is None and self.positions.agree()

    def rearm(self, now_ns: int, pnl: Decimal) -> None:
        self.pnl.rearm(now_ns, pnl)
        self.rejects.rearm()
        self.positions.rearm()

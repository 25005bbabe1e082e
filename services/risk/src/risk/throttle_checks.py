"""Throttles: the minimum interval between target changes and the per-symbol order-rate budget.

A throttle never holds back a target that only takes risk off (a pull, or fewer lots on both sides
than the previous target): delaying those would keep exposure the checks just decided to remove.
The budget counts venue actions (place, cancel, amend) each published target implies, over a
sliding window kept by `ActionWindow`.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from mm_proto.quoting import Ladder, ladder_changes
from risk.limits import RiskLimits
from risk.verdicts import CheckResult, CheckState, Outcome

_NS_PER_MS = 1_000_000


class ActionWindow:
    """Venue actions of published targets over a sliding window."""

    def __init__(self, window_ms: int) -> None:
        self._window_ns = window_ms * _NS_PER_MS
        self._entries: deque[tuple[int, int]] = deque()
        self._total = 0

    def record(self, now_ns: int, actions: int) -> None:
        if actions > 0:
            self._entries.append((now_ns, actions))
            self._total += actions

    def used(self, now_ns: int) -> int:
        """Actions recorded within the window ending at `now_ns`."""
        while self._entries and self._entries[0][0] <= now_ns - self._window_ns:
            self._total -= self._entries.popleft()[1]
        return self._total


def takes_risk_off(previous: Ladder | None, new: Ladder) -> bool:
    """True for a pull, or for no more lots on either side than the previous target had."""
    if new.is_empty:
        return True
    if previous is None:
        return False
    return new.bid_lots <= previous.bid_lots and new.ask_lots <= previous.ask_lots


def check_min_target_interval(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Block a change of target sooner than `min_target_interval_ms` after the last change."""
    limit_ms = limits.for_symbol(state.grid.symbol).min_target_interval_ms
    previous, last = state.previous_target, state.last_change_ns
    if last is None or ladder == previous or takes_risk_off(previous, ladder):
        return CheckResult(
            "min_target_interval", Outcome.PASS, ladder, Decimal(-1), Decimal(limit_ms)
        )
    elapsed_ms = Decimal(state.now_ns - last) / _NS_PER_MS
    if elapsed_ms >= limit_ms:
        return CheckResult(
            "min_target_interval", Outcome.PASS, ladder, elapsed_ms, Decimal(limit_ms)
        )
    return CheckResult(
        "min_target_interval",
        Outcome.BLOCK,
        ladder,
        elapsed_ms,
        Decimal(limit_ms),
        f"target changed {elapsed_ms} ms ago, minimum {limit_ms} ms",
    )


def check_order_rate(ladder: Ladder, state: CheckState, limits: RiskLimits) -> CheckResult:
    """Block a target whose venue actions would overrun the symbol's budget for the window."""
    symbol_limits = limits.for_symbol(state.grid.symbol)
    limit = symbol_limits.max_order_actions
    needed = ladder_changes(state.previous_target, ladder)
    observed = Decimal(state.actions_in_window + needed)
    if needed == 0 or takes_risk_off(state.previous_target, ladder) or observed <= limit:
        return CheckResult("order_rate", Outcome.PASS, ladder, observed, Decimal(limit))
    return CheckResult(
        "order_rate",
        Outcome.BLOCK,
        ladder,
        observed,
        Decimal(limit),
        f"{state.actions_in_window} actions used in the last "
        f"{symbol_limits.order_rate_window_ms} ms plus {needed} needed, "
        f"budget {limit}",
    )

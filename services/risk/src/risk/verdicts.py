"""The vocabulary of the checks: the state they read, a check's verdict, and the final decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from mm_proto import Grid
from mm_proto.quoting import Ladder


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    REDUCE = "reduce"
    BLOCK = "block"


class Action(StrEnum):
    PUBLISH = "publish"
    PULL = "pull"
    HOLD = "hold"


@dataclass(frozen=True)
class MarketView:
    """The symbol's top of book as last seen, and whether its feed is live."""

    bid_price_ticks: int
    ask_price_ticks: int
    ts_received_ns: int
    live: bool = True
    # Read for the mark and by several checks per intent: computed once, with the view.
    mid_price_ticks: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mid = (Decimal(self.bid_price_ticks) + Decimal(self.ask_price_ticks)) / 2
        object.__setattr__(self, "mid_price_ticks", mid)


@dataclass(frozen=True)
class CheckState:
    """What the checks know about the symbol and the rest of the portfolio at `now_ns`."""

    now_ns: int
    grid: Grid
    position_lots: int = 0
    market: MarketView | None = None
    other_gross_notional: Decimal = Decimal(0)
    other_net_notional: Decimal = Decimal(0)
    previous_target: Ladder | None = None
    last_change_ns: int | None = None
    actions_in_window: int = 0


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, with what it observed against which limit."""

    check: str
    outcome: Outcome
    ladder: Ladder
    observed: Decimal = Decimal(0)
    limit: Decimal = Decimal(0)
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    """What risk sends for one intent, and every check's verdict on the way.

    A check that passed is only named (`passed`): what it observed goes nowhere, and building a
    result for it on every intent was most of risk's cost. Every reduce and block is in `events`
    with what it observed against which limit.
    """

    action: Action
    ladder: Ladder
    passed: tuple[str, ...]  # the checks that passed, in the order they ran
    events: tuple[CheckResult, ...]  # the reduces and blocks, in the order they ran


# A check's explanation, or how to write it: only a reduce or block carries one, so a check that
# passes (nearly every intent) never formats it.
Detail = str | Callable[[], str]


def verdict(
    check: str, before: Ladder, after: Ladder, observed: Decimal, limit: Decimal, detail: Detail
) -> CheckResult:
    if after == before:
        return CheckResult(check, Outcome.PASS, before, observed, limit)
    outcome = Outcome.BLOCK if after.is_empty else Outcome.REDUCE
    text = detail if isinstance(detail, str) else detail()
    return CheckResult(check, outcome, after, observed, limit, text)

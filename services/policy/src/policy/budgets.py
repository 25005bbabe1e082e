"""The allocator's budgets as quoter fields, per symbol: pure.

Three budgets are shared out by the same weights (`policy.allocator`):

- inventory notional → `max_inventory_lots` at the symbol's mid on its grid;
- gross notional (when `gross` is set) → a ceiling in lots on the symbol's worst case as risk's
  `portfolio_gross` check values it: `max_inventory_lots` plus one side of its ladder
  (`ladder_lots`). The ceiling clamps the inventory wish, shrinks a ladder that alone outgrows
  it, and (`gross_ceilings`, `fits_gross`) keeps any rule from raising size or inventory past it;
- order actions per second (when `order_rate` is set) → `min_requote_interval_ms`: a requote
  amends every order of the ladder, `2 * levels` actions, so a share of `r` actions per second
  allows one requote every `2 * levels / r` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mm_proto.instrument import Grid
from mm_proto.quoting import level_sizes
from policy.allocator import Claim, allocate, weights
from policy.bounds import Number, as_number
from policy.params import Budget, PolicyParams
from policy.plan import Change
from policy.rules import Proposal
from policy.signals import Signals

SIZE = "level_size_lots"
INVENTORY = "max_inventory_lots"
REQUOTE = "min_requote_interval_ms"


@dataclass(frozen=True)
class Holding:
    """What the allocator needs of one symbol: its signals, grid and quoter values in force."""

    signals: Signals
    grid: Grid
    values: Mapping[str, object]

    def whole(self, name: str, default: int = 0) -> int:
        return whole(self.values, name, default)

    def ladder_lots(self, size: int | None = None) -> int:
        return values_ladder_lots(self.values, size)

    @property
    def levels(self) -> int:
        return max(1, self.whole("levels", 1))


def whole(values: Mapping[str, object], name: str, default: int = 0) -> int:
    """A whole-number quoter field in force, or `default` when it is not one."""
    value = values.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def values_ladder_lots(values: Mapping[str, object], size: int | None = None) -> int:
    """One side's lots of the ladder the quoter fields describe (at `size`, or theirs)."""
    multiplier = as_number(values.get("level_size_multiplier", 1.0)) or 1.0
    levels = max(1, whole(values, "levels", 1))
    return ladder_lots(whole(values, SIZE) if size is None else size, levels, multiplier)


@dataclass
class Allocation:
    """The round's proposals per symbol, the weights used, each symbol's gross ceiling in lots."""

    wishes: dict[str, list[Proposal]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    gross_lots: dict[str, int] = field(default_factory=dict)


def ladder_lots(size: int, levels: int, multiplier: float) -> int:
    """One side's lots, on the quoter's own schedule (`mm_proto.quoting.level_sizes`)."""
    return sum(level_sizes(size, levels, multiplier))


def requote_interval_ms(rate_per_s: float, levels: int) -> int:
    """The least interval between requotes that keeps `2 * levels` actions each within a rate."""
    return math.ceil(2_000 * levels / rate_per_s) if rate_per_s > 0 else 600_000


def allocation(
    portfolio: PolicyParams, per_symbol: Mapping[str, PolicyParams], holdings: Mapping[str, Holding]
) -> Allocation:
    """Each budget shared out over the symbols with a mid (the others are left out)."""
    mids = {s: Decimal(h.signals.mid_half_ticks) / 2 for s, h in holdings.items()}
    held = {s: holdings[s] for s, mid in mids.items() if mid > 0}
    shares = _Round(portfolio, held, mids, {s: per_symbol[s].obligation_value for s in held})
    if held:
        shares.inventory()
        if portfolio.gross is not None:
            shares.gross(portfolio.gross)
        if portfolio.order_rate is not None:
            shares.order_rate(portfolio.order_rate)
    return shares.done


@dataclass
class _Round:
    portfolio: PolicyParams
    held: Mapping[str, Holding]
    mids: Mapping[str, Decimal]
    value: Mapping[str, float]  # obligation value per symbol
    done: Allocation = field(default_factory=Allocation)

    def inventory(self) -> None:
        held, portfolio = self.held, self.portfolio
        current = {s: self._notional(s, h.whole(INVENTORY)) for s, h in held.items()}
        self.done.weights = weights(self._claims(current))
        budget = Budget(
            total=portfolio.budget_notional,
            symbol_floor=portfolio.symbol_floor_notional,
            symbol_cap=portfolio.symbol_cap_notional,
        )
        for symbol, notional in self._share(budget, current).items():
            lots = self._lots(symbol, notional)
            self._wish(symbol, INVENTORY, lots, "notional", current[symbol], notional)

    def gross(self, budget: Budget) -> None:
        held = self.held
        current = {
            s: self._notional(s, h.whole(INVENTORY) + h.ladder_lots()) for s, h in held.items()
        }
        for symbol, notional in self._share(budget, current).items():
            holding, ceiling = held[symbol], self._lots(symbol, notional)
            self.done.gross_lots[symbol] = ceiling
            fit = largest_size_within(holding.values, ceiling)
            if 1 <= fit < holding.whole(SIZE):  # the ladder alone outgrew its share: shrink it
                self._wish(symbol, SIZE, fit, "gross notional", current[symbol], notional)

    def order_rate(self, budget: Budget) -> None:
        current = {s: _rate_of(h, budget.symbol_cap) for s, h in self.held.items()}
        for symbol, per_s in self._share(budget, current).items():
            interval = requote_interval_ms(per_s, self.held[symbol].levels)
            self._wish(symbol, REQUOTE, interval, "order actions/s", current[symbol], per_s)

    def _notional(self, symbol: str, lots: int) -> float:
        return float(self.held[symbol].grid.notional(self.mids[symbol], lots))

    def _lots(self, symbol: str, notional: float) -> int:
        return self.held[symbol].grid.lots_within(Decimal(str(notional)), self.mids[symbol])

    def _claims(self, current: Mapping[str, float]) -> dict[str, Claim]:
        return {
            s: Claim(h.signals.edge_bps, self.value[s], current[s]) for s, h in self.held.items()
        }

    def _share(self, budget: Budget, current: Mapping[str, float]) -> dict[str, float]:
        share = self.portfolio.rebalance_share
        claims = self._claims(current)
        return allocate(claims, budget.total, budget.symbol_floor, budget.symbol_cap, share)

    def _wish(self, symbol: str, name: str, target: int, what: str, old: float, new: float) -> None:
        weight = self.done.weights.get(symbol, 0.0)
        detail = f"weight {weight:.3f}: {what} {old:.2f} -> {new:.2f}"
        self.done.wishes.setdefault(symbol, []).append(Proposal("allocator", name, target, detail))


def gross_ceilings(
    values: Mapping[str, object], gross_lots: int | None, gross_on: bool
) -> dict[str, Number]:
    """The highest target a rule may set for size and for inventory, the other held as it is.
    With the gross budget on but no share allocated yet (a restart), neither may rise."""
    if not gross_on:
        return {}
    if gross_lots is None:
        return {SIZE: whole(values, SIZE), INVENTORY: whole(values, INVENTORY)}
    room = gross_lots - whole(values, INVENTORY)
    size = _largest(lambda candidate: values_ladder_lots(values, candidate) <= room)
    return {SIZE: size, INVENTORY: max(gross_lots - values_ladder_lots(values), 0)}


def within_gross(
    changes: list[Change], values: Mapping[str, object], gross_lots: int | None
) -> list[Change]:
    """`changes` less a rise of size or inventory that, with the other field's change, would
    take the symbol's worst case past its gross ceiling (each alone was clamped to it); a fall
    is always kept."""
    if gross_lots is None:
        return changes
    kept = list(changes)
    for name in (INVENTORY, SIZE):  # the allocator's inventory yields first
        planned = {c.field: c.new for c in kept}
        size = planned.get(SIZE, whole(values, SIZE))
        inventory = planned.get(INVENTORY, whole(values, INVENTORY))
        if not isinstance(size, int) or not isinstance(inventory, int):
            return kept
        if values_ladder_lots(values, size) + inventory <= gross_lots:
            return kept
        kept = [c for c in kept if not (c.field == name and _rises(c))]
    return kept


def _rises(change: Change) -> bool:
    old, new = as_number(change.old), as_number(change.new)
    return old is not None and new is not None and new > old


def largest_size_within(values: Mapping[str, object], ceiling: int) -> int:
    """The largest level size whose ladder plus one level of inventory (the quoter requires
    `max_inventory_lots` >= `level_size_lots`) fits `ceiling` lots; 0 when none does."""
    return _largest(lambda size: values_ladder_lots(values, size) + size <= ceiling)


def _largest(fits: Callable[[int], bool], top: int = 1_000_000_000) -> int:
    """The largest whole size in [0, top] that fits (sizes fit less as they grow), 0 if none."""
    low, high = 0, top
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _rate_of(holding: Holding, cap: float) -> float:
    """Order actions per second the symbol's interval allows; no interval counts as its cap."""
    interval = holding.whole(REQUOTE)
    return min(2_000 * holding.levels / interval, cap) if interval > 0 else cap

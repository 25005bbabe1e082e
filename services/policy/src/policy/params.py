"""The operator's bounds on the policy, per symbol: the model, its validation, its `ConfigSpec`.

Read like every service's live parameters (`mm_runtime.live_config`): the policy's settings are the
base, overlaid by KV `config` entries `policy.default` then `policy.<SYMBOL>`. `mode` is `off`
(nothing decided), `dry_run` (decisions logged and published, nothing written) or `on`. Each
parameter the policy moves has a `FieldBounds`: a floor and a ceiling it never leaves, the home
it returns to when conditions are benign, the largest move of one change, and the least time
between two changes. Each rule's thresholds come in pairs (enter, exit) a gap apart: that gap
is the hysteresis that keeps a rule from flapping on a figure that hovers near one threshold.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mm_runtime.live_config import ConfigSpec

Mode = Literal["off", "dry_run", "on"]
# The venue's order-rate limit the order-rate budget shares: Bybit's per-UID limit on linear,
# per operation (create, amend, cancel: 10/s each, one rolling second; docs/policy.md).
VENUE_ORDER_ACTIONS_PER_S = 10.0


class FieldBounds(BaseModel):
    """Where the policy may move one parameter, and how fast."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    floor: float = Field(ge=0, le=1e9)
    home: float = Field(ge=0, le=1e9)
    ceiling: float = Field(ge=0, le=1e9)
    max_step: float = Field(gt=0, le=1e9)  # the largest move of one change, in the field's unit
    min_interval_s: float = Field(default=120.0, ge=0, le=86_400)

    @model_validator(mode="after")
    def _ordered(self) -> FieldBounds:
        if not self.floor <= self.home <= self.ceiling:
            raise ValueError(
                f"bounds must satisfy floor <= home <= ceiling, were {self.floor}, "
                f"{self.home}, {self.ceiling}"
            )
        return self


class Budget(BaseModel):
    """A portfolio budget the allocator shares out: its total, and each symbol's floor and cap."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    total: float = Field(ge=0, le=1e12)
    symbol_floor: float = Field(default=0.0, ge=0, le=1e12)
    symbol_cap: float = Field(ge=0, le=1e12)

    @model_validator(mode="after")
    def _floor_below_cap(self) -> Budget:
        if self.symbol_floor > self.symbol_cap:
            raise ValueError(
                f"symbol_floor ({self.symbol_floor}) must not be above symbol_cap "
                f"({self.symbol_cap})"
            )
        return self


class PolicyParams(BaseModel):
    """What the policy may do for one symbol; see the module docstring and docs/policy.md."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    mode: Mode = "dry_run"
    # quoter.min_spread_bps, quoter.level_size_lots, quoter.refresh_price_ticks,
    # quoter.max_inventory_lots (the allocator's share, in lots)
    spread: FieldBounds = FieldBounds(floor=1.0, home=2.0, ceiling=20.0, max_step=1.0)
    size: FieldBounds = FieldBounds(floor=1, home=1, ceiling=100, max_step=2)
    refresh: FieldBounds = FieldBounds(floor=1, home=1, ceiling=20, max_step=2)
    inventory: FieldBounds = FieldBounds(floor=1, home=10, ceiling=1_000, max_step=50)
    # quoter.min_requote_interval_ms (the allocator's order-rate share): 0 is no floor.
    requote: FieldBounds = FieldBounds(floor=0, home=0, ceiling=10_000, max_step=1_000)
    # How much KPI history a decision reads; older than `stale_after_s` and the policy holds.
    window_s: float = Field(default=300.0, gt=0, le=86_400)
    stale_after_s: float = Field(default=180.0, gt=0, le=86_400)
    # Toxicity: the net edge per traded notional at `markout_horizon`, in bps (the markout, which
    # holds the spread captured, plus the fees, a rebate being positive). Below `edge_enter_bps`
    # a fill loses money: widen. Above `edge_exit_bps` it earns more than one tightening step
    # gives back (half of `spread_step_bps` per fill): tighten. Between: hold (hysteresis).
    markout_horizon: str = Field(default="10s", pattern=r"^[0-9]+(\.[0-9]+)?s$")
    min_fills: int = Field(default=5, ge=1, le=1_000_000)
    edge_enter_bps: float = Field(default=0.0, ge=-1_000, le=1_000)
    edge_exit_bps: float = Field(default=0.25, ge=-1_000, le=1_000)
    spread_step_bps: float = Field(default=0.5, gt=0, le=100)
    # Volatility regime (`policy.volatility`), off unless `vola_enter_ratio` is set: the mids'
    # realized volatility over `window_s` against that over `vola_baseline_s`. Above
    # `vola_enter_ratio` times the baseline, widen and shrink; back home only below
    # `vola_exit_ratio`.
    vola_enter_ratio: float | None = Field(default=None, gt=1, le=1_000)
    vola_exit_ratio: float = Field(default=1.25, gt=0, le=1_000)
    vola_baseline_s: float = Field(default=3_600.0, gt=0, le=86_400)
    size_step_lots: float = Field(default=1, gt=0, le=1e6)
    # Amend failures (110001) and rejects per order action.
    reject_enter_share: float = Field(default=0.05, ge=0, le=1)
    reject_exit_share: float = Field(default=0.01, ge=0, le=1)
    refresh_step_ticks: float = Field(default=1, gt=0, le=1_000)
    # Two-sided presence: below `coverage_target`, add size while inventory is below
    # `inventory_room_share` of the limit; above `coverage_exit`, size may return home.
    coverage_target: float = Field(default=0.0, ge=0, le=1)
    coverage_exit: float = Field(default=0.0, ge=0, le=1)
    inventory_room_share: float = Field(default=0.5, gt=0, le=1)
    # The feed: this many stale/resync events within `window_s` pull the symbol; `feed_quiet_s`
    # without one lets the policy put it back.
    feed_events_to_pull: int = Field(default=3, ge=1, le=10_000)
    feed_quiet_s: float = Field(default=600.0, gt=0, le=86_400)
    # The allocator (portfolio-wide fields are read from `policy.default`).
    allocator: bool = False
    budget_notional: float = Field(default=10_000.0, ge=0, le=1e12)
    symbol_floor_notional: float = Field(default=500.0, ge=0, le=1e12)
    symbol_cap_notional: float = Field(default=5_000.0, ge=0, le=1e12)
    obligation_value: float = Field(default=0.0, ge=0, le=1e6)  # bps-equivalent edge per symbol
    rebalance_interval_s: float = Field(default=600.0, gt=0, le=86_400)
    # Gross notional (inventory plus one side's ladder, as risk's portfolio_gross check values a
    # symbol) and venue order actions per second, shared out like the inventory budget; None:
    # not allocated. The order-rate total may not exceed `VENUE_ORDER_ACTIONS_PER_S`.
    gross: Budget | None = None
    order_rate: Budget | None = None
    rebalance_share: float = Field(default=0.25, gt=0, le=1)

    @model_validator(mode="after")
    def _hysteresis(self) -> PolicyParams:
        pairs = (
            ("edge_enter_bps", self.edge_enter_bps, "edge_exit_bps", self.edge_exit_bps),
            (
                "reject_exit_share",
                self.reject_exit_share,
                "reject_enter_share",
                self.reject_enter_share,
            ),
            ("coverage_target", self.coverage_target, "coverage_exit", self.coverage_exit),
        )
        for low_name, low, high_name, high in pairs:
            if low > high:
                raise ValueError(f"{low_name} ({low}) must not be above {high_name} ({high})")
        if self.edge_enter_bps == self.edge_exit_bps:
            raise ValueError(
                f"edge_enter_bps must be below edge_exit_bps (hysteresis), both were "
                f"{self.edge_enter_bps}"
            )
        if self.order_rate is not None and self.order_rate.total > VENUE_ORDER_ACTIONS_PER_S:
            raise ValueError(
                f"order_rate.total ({self.order_rate.total}/s) must not exceed the venue's "
                f"limit of {VENUE_ORDER_ACTIONS_PER_S:g} order actions per second"
            )
        if self.vola_enter_ratio is not None:
            self._volatility_band(self.vola_enter_ratio)
        if self.symbol_floor_notional > self.symbol_cap_notional:
            raise ValueError(
                f"symbol_floor_notional ({self.symbol_floor_notional}) must not be above "
                f"symbol_cap_notional ({self.symbol_cap_notional})"
            )
        return self

    def _volatility_band(self, enter: float) -> None:
        if self.vola_exit_ratio >= enter:
            raise ValueError(
                f"vola_exit_ratio ({self.vola_exit_ratio}) must be below vola_enter_ratio "
                f"({enter}) (hysteresis)"
            )
        if self.vola_baseline_s <= self.window_s:
            raise ValueError(
                f"vola_baseline_s ({self.vola_baseline_s}) must be longer than window_s "
                f"({self.window_s})"
            )


SPEC = ConfigSpec(prefix="policy", model=PolicyParams)

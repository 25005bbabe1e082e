"""Per-symbol strategy parameters: the model, its validation, and which fields may change live.

Parameters come from the quoter's settings (the base) overlaid by the NATS KV `config` bucket keys
`quoter.default` then `quoter.<symbol>`, each a JSON object of some of these fields, read through
`mm_runtime.live_config` with the declaration `SPEC`. `LIVE_SAFE` and `RESTART_REQUIRED` below
are the one list of which field is which: a live update may change any live-safe field; a change
to a restart-required field is refused with a reason (it shapes estimator state built at start)
and the running value is kept.

Every numeric field has a lower and an upper bound on the model (no infinities or NaN anywhere,
`min_spread_bps` above zero), applied at start and on every change. `MAX_STEP` below says how far
one live change may loosen a field against the running value (`mm_runtime.live_steps`): a
larger move is refused with the reason and the running parameters are kept whole.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mm_runtime.live_config import ConfigSpec
from mm_runtime.live_steps import MaxStep
from quoter.windows import parse_window

CooldownEvent = Literal["fill", "feed_recovered", "halt_cleared"]


class QuoterParams(BaseModel):
    """What the strategy does for one symbol. Sizes and inventory are whole lots of the grid."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    # The parameter set's label, carried on every intent, order, fill and KPI row (a canary
    # compares two colors on one market); what the executor can encode in a client order id.
    color: str = Field(default="blue", pattern=r"^[a-z0-9]{1,8}$")
    fair_value_source: Literal["mid", "microprice"] = "mid"
    volatility_horizon_s: float = Field(default=60.0, gt=0, le=86_400)
    trade_flow_horizon_s: float = Field(default=30.0, gt=0, le=86_400)
    trade_flow_skew_bps: float = Field(default=0.0, ge=0, le=100)
    risk_aversion: float = Field(default=0.1, ge=0, le=1e6)
    skew_horizon_s: float = Field(default=60.0, gt=0, le=86_400)
    max_skew_bps: float = Field(default=50.0, ge=0, le=1_000)
    # Per side: each quote sits at least this far from the reservation price (the formula).
    min_spread_bps: float = Field(default=2.0, gt=0, le=1_000)
    k_vola_spread: float = Field(default=1.0, ge=0, le=100)
    levels: int = Field(default=1, ge=1, le=20)
    level_spacing_ticks: int = Field(default=1, ge=1, le=100_000)
    level_spacing_bps: float = Field(default=0.0, ge=0, le=1_000)
    # Lots of the instrument's grid (`Grid.lot_size`), the unit of risk's limits too.
    level_size_lots: int = Field(default=1, ge=1, le=1_000_000_000)
    level_size_multiplier: float = Field(default=1.0, gt=0, le=10)
    max_inventory_lots: int = Field(default=10, ge=1, le=10_000_000_000)
    refresh_price_ticks: int = Field(default=1, ge=1, le=100_000)
    refresh_size_pct: float = Field(default=10.0, gt=0, le=100)
    max_quote_age_s: float = Field(default=5.0, gt=0, le=3_600)
    # The least time between two published ladders (0: no floor): the symbol's share of the
    # venue's order-rate limit, set by the policy's allocator. A pull, or a ladder with fewer
    # levels on a side than the resting one, is never held back.
    min_requote_interval_ms: int = Field(default=0, ge=0, le=600_000)
    # Bybit re-sends an unchanged level-1 book every 3 s: silence shorter than that is normal.
    stale_after_s: float = Field(default=5.0, gt=0, le=600)
    obligation_enabled: bool = False
    obligation_notional_5bps: float = Field(default=0.0, ge=0, le=1e9)
    obligation_notional_10bps: float = Field(default=0.0, ge=0, le=1e9)
    obligation_snapshot_s: float = Field(default=10.0, gt=0, le=3_600)
    trading_windows: tuple[str, ...] = ()
    cooldown_s: float = Field(default=0.0, ge=0, le=86_400)
    cooldown_events: tuple[CooldownEvent, ...] = ()

    @field_validator("trading_windows")
    @classmethod
    def _windows_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_window(text)
        return value

    @model_validator(mode="after")
    def _fields_agree(self) -> QuoterParams:
        """Cross-field contradictions, refused whole (at start, on `config-set`, in a rollout)."""
        if self.max_inventory_lots < self.level_size_lots:
            raise ValueError(
                f"max_inventory_lots ({self.max_inventory_lots}) must be at least one level's "
                f"size level_size_lots ({self.level_size_lots}): one fill would breach it"
            )
        if self.cooldown_s > 0 and not self.cooldown_events:
            raise ValueError(
                f"cooldown_s is {self.cooldown_s:g} but cooldown_events is empty: a cooldown "
                "needs an event that starts it"
            )
        if self.cooldown_events and self.cooldown_s == 0:
            raise ValueError(
                f"cooldown_events {list(self.cooldown_events)} start a cooldown of 0 s: set "
                "cooldown_s above 0 or leave the events empty"
            )
        return self


RESTART_REQUIRED: frozenset[str] = frozenset(
    {
        # The estimators' decayed sums are defined by their horizon; changing it mid-run would
        # mix two time scales in one number.
        "volatility_horizon_s",
        "trade_flow_horizon_s",
        # Coverage is a share of fixed-length snapshots; a new length starts a new series.
        "obligation_snapshot_s",
    }
)
LIVE_SAFE: frozenset[str] = frozenset(QuoterParams.model_fields) - RESTART_REQUIRED

# How far one live change may move a field, in the direction that takes more risk: tighter quotes
# (spread, volatility widening), bigger sizes and inventory, more levels, less inventory skew.
MAX_STEP: dict[str, MaxStep] = {
    "min_spread_bps": MaxStep(down=2.0),
    "k_vola_spread": MaxStep(down=2.0, absolute=0.1),
    "risk_aversion": MaxStep(down=2.0, absolute=0.01),
    "max_skew_bps": MaxStep(down=2.0, absolute=1.0),
    "level_size_lots": MaxStep(up=2.0),
    "level_size_multiplier": MaxStep(up=2.0),
    "levels": MaxStep(up=2.0, absolute=5),
    "max_inventory_lots": MaxStep(up=2.0),
    "max_quote_age_s": MaxStep(up=2.0),
    "stale_after_s": MaxStep(up=2.0),
}


SPEC = ConfigSpec(
    prefix="quoter",
    model=QuoterParams,
    restart_required=RESTART_REQUIRED,
    max_step=MAX_STEP,
)

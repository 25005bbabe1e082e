"""The policy's settings (env prefix `POLICY_`): its symbols, its timers, its base bounds.

`POLICY_SYMBOLS=BTCUSDT,ETHUSDT`. Every `evaluate_interval_s` (a minute; tests shorten it) it
reads its inputs and decides; `params` are the base bounds and modes that `policy.default` and
`policy.<SYMBOL>` entries of KV `config` overlay (`policy.params`). `mode` defaults to `dry_run`:
a fresh deployment publishes what it would do and writes nothing until the operator says `on`.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from mm_proto import subjects
from mm_runtime.settings import ServiceSettings, SymbolList
from policy.params import PolicyParams


class PolicySettings(ServiceSettings):
    """Settings of the policy service."""

    model_config = SettingsConfigDict(env_prefix="POLICY_")

    venue: str = "bybit"
    category: str = "linear"
    symbols: SymbolList = Field(default_factory=list)
    evaluate_interval_s: float = Field(default=60.0, ge=0.05, le=3600)
    ctl_timeout_s: float = Field(default=2.0, gt=0, le=60)
    bind_retry_s: float = Field(default=1.0, gt=0, le=60)
    restore_scan_limit: int = Field(default=100_000, ge=1)
    params: PolicyParams = PolicyParams()

    @model_validator(mode="after")
    def _consistent(self) -> PolicySettings:
        if not self.symbols:
            raise ValueError("symbols must name at least one symbol, was empty")
        for name in (self.venue, self.category, *self.symbols):
            subjects.token(name)
        return self

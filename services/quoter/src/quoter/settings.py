"""QuoterSettings: which instruments to quote, their grid and maker fee, and the base parameters.

The maker fee rate is the account's fee (a negative rate is a rebate). The executor stores the
venue's rates in KV `fees`, which replace these once read (`venue_facts.py`); the rate set here,
a default and per instrument, is used until then. Instrument grids given here are replaced by
the gateway's `InstrumentDefinition` messages when those arrive; symbols listed without a grid
wait for them.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from mm_proto import Grid, subjects
from mm_proto.rollout import LOOK_INTERVAL_S, unjudged_after_ns
from mm_runtime.instruments import GridSettings
from mm_runtime.settings import LeaseSettings, ServiceSettings, SymbolList
from quoter.params import QuoterParams


class InstrumentSettings(GridSettings):
    """One quoted instrument: its trading grid and our maker fee rate (fraction of notional)."""

    symbol: str
    maker_fee_rate: Decimal = Field(default=Decimal("0.0002"), gt=-0.01, lt=0.01)

    @field_validator("symbol")
    @classmethod
    def _symbol_is_a_token(cls, value: str) -> str:
        return subjects.token(value)


class QuoterSettings(ServiceSettings):
    """Everything the quoter needs at start; per-symbol parameters may then change through KV.

    The quoted symbols are `symbols` plus those of `instruments`. A symbol without an instrument
    entry waits for the gateway's definition before it quotes, at the default `maker_fee_rate`.
    """

    model_config = SettingsConfigDict(env_prefix="QUOTER_")

    venue: str = "bybit"
    category: str = "linear"
    symbols: SymbolList = []
    instruments: list[InstrumentSettings] = []
    # Bybit's base-tier linear maker fee; a rebate tier is negative.
    maker_fee_rate: Decimal = Field(default=Decimal("0.0002"), gt=-0.01, lt=0.01)
    params: QuoterParams = QuoterParams()
    timer_interval_s: float = Field(default=0.25, gt=0, le=10)
    # How often the obligation snapshots are stored for `mm gate` (`obligation_facts`).
    gate_facts_interval_s: float = Field(default=60.0, ge=1, le=3600)
    bind_retry_s: float = Field(default=2.0, gt=0, le=60)
    # Price only the newest of the book tops waiting per symbol while the quoter is busy
    # (`mm_runtime.conflation`). Off: measured no CPU or latency gain at the load on a
    # shared 2-core machine (docs/benchmarks.md); there for a stack that falls behind.
    conflate_backlog: bool = False
    # The rollout controller's look interval (`mm rollout run --interval`): a ramping rollout
    # no controller has looked at for MISSED_LOOKS of these puts every symbol on blue.
    rollout_look_interval_s: float = LOOK_INTERVAL_S
    # Lease mode: replicas share the symbols, one publisher per symbol (quoter/shards.py).
    lease: LeaseSettings = LeaseSettings()

    @field_validator("rollout_look_interval_s")
    @classmethod
    def _look_interval_bounded(cls, value: float) -> float:
        unjudged_after_ns(value)
        return value

    @field_validator("venue", "category")
    @classmethod
    def _is_a_token(cls, value: str) -> str:
        return subjects.token(value)

    @field_validator("instruments")
    @classmethod
    def _instruments_unique(cls, value: list[InstrumentSettings]) -> list[InstrumentSettings]:
        _unique([item.symbol for item in value])
        return value

    @model_validator(mode="after")
    def _something_to_quote(self) -> QuoterSettings:
        if not self.symbols and not self.instruments:
            raise ValueError("symbols or instruments must name at least one symbol, both empty")
        self.lease.check(self.instance_id)
        return self

    def quoted_symbols(self) -> list[str]:
        """Every symbol this instance quotes, in the order given."""
        listed = [item.symbol for item in self.instruments]
        return listed + [symbol for symbol in self.symbols if symbol not in listed]

    def known_instruments(self) -> dict[str, Grid]:
        """The grids known at start (the gateway's definitions may replace them)."""
        return {item.symbol: item.grid(item.symbol) for item in self.instruments}

    def maker_fee_rates(self) -> dict[str, float]:
        """Our maker fee rate per quoted symbol: its instrument entry's, else the default."""
        rates = {symbol: float(self.maker_fee_rate) for symbol in self.quoted_symbols()}
        rates.update({item.symbol: float(item.maker_fee_rate) for item in self.instruments})
        return rates


def _unique(symbols: list[str]) -> list[str]:
    repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    if repeated:
        raise ValueError(f"each symbol must be listed once, {repeated} repeat")
    return symbols

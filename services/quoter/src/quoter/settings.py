"""QuoterSettings: which instruments to quote, their grid and maker fee, and the base parameters.

The maker fee rate is the account's fee for the instrument (a negative rate is a rebate). Until
the executor publishes the venue's fee rates (the Bybit client loads them at start), it is set
here per instrument. Instrument grids given here are replaced by the gateway's
`InstrumentDefinition` messages when those arrive.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import SettingsConfigDict

from mm_proto import subjects
from mm_runtime.settings import ServiceSettings
from quoter.instrument import Instrument
from quoter.params import QuoterParams


class InstrumentSettings(BaseModel):
    """One quoted instrument: its trading grid and our maker fee rate (fraction of notional)."""

    symbol: str
    tick_size: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    min_qty: Decimal = Field(default=Decimal(0), ge=0)
    min_notional: Decimal = Field(default=Decimal(0), ge=0)
    maker_fee_rate: Decimal = Field(default=Decimal("0.0002"), gt=-0.01, lt=0.01)

    @field_validator("symbol")
    @classmethod
    def _symbol_is_a_token(cls, value: str) -> str:
        return subjects.token(value)

    def instrument(self) -> Instrument:
        return Instrument(
            symbol=self.symbol,
            tick_size=float(self.tick_size),
            lot_size=float(self.lot_size),
            min_qty=float(self.min_qty),
            min_notional=float(self.min_notional),
            maker_fee_rate=float(self.maker_fee_rate),
        )


class QuoterSettings(ServiceSettings):
    """Everything the quoter needs at start; per-symbol parameters may then change through KV."""

    model_config = SettingsConfigDict(env_prefix="QUOTER_")

    venue: str = "bybit"
    category: str = "linear"
    instruments: list[InstrumentSettings] = Field(min_length=1)
    params: QuoterParams = QuoterParams()
    timer_interval_s: float = Field(default=0.25, gt=0, le=10)
    bind_retry_s: float = Field(default=2.0, gt=0, le=60)

    @field_validator("venue", "category")
    @classmethod
    def _is_a_token(cls, value: str) -> str:
        return subjects.token(value)

    @field_validator("instruments")
    @classmethod
    def _symbols_unique(cls, value: list[InstrumentSettings]) -> list[InstrumentSettings]:
        symbols = [item.symbol for item in value]
        duplicates = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
        if duplicates:
            raise ValueError(f"each symbol must be listed once, {duplicates} repeat")
        return value

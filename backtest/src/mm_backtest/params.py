"""A backtest's parameters: the instruments, the strategy, risk, the venue's fees and the models.

`P.json` is one JSON object; every section is optional except `instruments`:

    {"instruments": [{"symbol": "BTCUSDT", "base_coin": "BTC", "tick_size": "0.1",
                      "qty_step": "0.001", "min_order_qty": "0.001", "min_notional_value": "5"}],
     "quoter": {... QuoterParams fields ...},
     "quoter_symbols": {"BTCUSDT": {... overrides for one symbol ...}},
     "risk": {... RiskLimits fields ...},
     "venue": {"maker_fee_rate": "0.0002", "taker_fee_rate": "0.00055",
               "initial_balances": {"USDT": "100000"}},
     "queue": "sim" | "probabilistic", "queue_power": 2.0, "feed": "recorded" | "venue",
     "latency": {"feed_ms": 2, "order_ms": 10}, "seed": 1}

The sections are validated by the production models themselves (`QuoterParams`, `RiskLimits`,
the simulator's `InstrumentConfig`), so a backtest refuses exactly what the live services would.
A sweep names a field by its key: a bare name is a quoter field (`min_spread_bps`), a dotted one
a path from the top (`risk.default.max_position_lots`, `venue.maker_fee_rate`).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mm_sim.settings import InstrumentConfig
from quoter.params import QuoterParams
from risk.limits import RiskLimits


class ParamsError(ValueError):
    """Parameters that cannot run a backtest, with the field and the reason."""


class VenueParams(BaseModel):
    """The simulated venue's fee schedule and the account's starting balances."""

    model_config = ConfigDict(extra="forbid")

    maker_fee_rate: Decimal = Decimal("0.0002")
    taker_fee_rate: Decimal = Decimal("0.00055")
    initial_balances: dict[str, Decimal] = Field(
        default_factory=lambda: {"USDT": Decimal("1000000")}
    )
    funding_rate: Decimal = Decimal("0.0001")


class LatencyParams(BaseModel):
    """Defaults for the latency model when `--latency` does not say (milliseconds)."""

    model_config = ConfigDict(extra="forbid")

    feed_ms: float = Field(default=0.0, ge=0, le=60_000)
    order_ms: float = Field(default=0.0, ge=0, le=60_000)


class BacktestParams(BaseModel):
    """Everything one backtest run is configured by (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    instruments: list[InstrumentConfig] = Field(min_length=1)
    quoter: QuoterParams = QuoterParams()
    quoter_symbols: dict[str, dict[str, Any]] = Field(default_factory=dict)
    risk: RiskLimits = RiskLimits()
    venue: VenueParams = VenueParams()
    queue: Literal["sim", "probabilistic"] = "sim"
    # What our gateway sees: the recorded frames as they are, or the simulated venue's public
    # feed (the recorded market with our own resting orders in it, as a live venue shows them).
    feed: Literal["recorded", "venue"] = "recorded"
    queue_power: float = Field(default=2.0, gt=0, le=10)
    latency: LatencyParams = LatencyParams()
    seed: int = 1
    depth: Literal[1, 50, 200, 500, 1000] = 50
    flush_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    timer_interval_s: float = Field(default=0.25, gt=0, le=10)

    def quoter_for(self, symbol: str) -> QuoterParams:
        """The quoter's parameters for one symbol: the base with that symbol's overrides."""
        overrides = self.quoter_symbols.get(symbol)
        if not overrides:
            return self.quoter
        return QuoterParams.model_validate(self.quoter.model_dump() | overrides)

    def symbols(self) -> list[str]:
        return [config.symbol for config in self.instruments]


def parse_params(document: dict[str, Any]) -> BacktestParams:
    """Validate a parameters document; ParamsError naming what is wrong."""
    try:
        params = BacktestParams.model_validate(document)
        for symbol in params.quoter_symbols:
            if symbol not in params.symbols():
                raise ParamsError(f"quoter_symbols names {symbol!r}, not one of the instruments")
            params.quoter_for(symbol)
    except ValidationError as error:
        raise ParamsError(f"invalid backtest parameters: {error}") from None
    return params


def load_document(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; ParamsError when unreadable or not an object."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ParamsError(f"cannot read parameters file {path}: {error}") from None
    except ValueError as error:
        raise ParamsError(f"parameters file {path} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ParamsError(f"parameters file {path} must hold a JSON object")
    return document


def with_override(document: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of the document with one field set (bare key: a quoter field)."""
    path = key.split(".") if "." in key else ["quoter", key]
    result = copy.deepcopy(document)
    node = result
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ParamsError(f"cannot set {key}: {part} is not an object")
        node = child
    node[path[-1]] = value
    return result

"""The instrument definition as the venue states it, and the `Grid` every service computes with.

`InstrumentDefinition` is the message md_gateway publishes (decimal strings, as the venue writes
them). `Grid` is the one in-process form of its trading grid: tick, lot, minimum quantity and
notional, and status, held as integers so `notional` and `min_lots` are exact integer arithmetic
(no floats, no epsilon). Prices are integer ticks of `tick_size`, sizes integer lots of
`lot_size`, notional is in the quote coin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from mm_proto import decimals
from mm_proto.message import Message, SizeLots, TimestampNs

TRADING_STATUS = "Trading"  # the venue's instrument status while it accepts orders
# Scaling by a power of ten never needs rounding: without this, 28 digits would round it.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


class InstrumentDefinition(Message, frozen=True, kw_only=True, tag="instrument"):
    """One tradable instrument's identity and trading grid, as the venue defines it.

    Prices on the bus are integer ticks of `tick_size` and sizes integer lots of `lot_size`;
    the methods here are the only conversions between those and the venue's decimal strings.
    Decoding a definition whose grid strings are not valid decimals fails.
    """

    venue: str
    category: str  # "linear", "spot", ...
    symbol: str
    base_coin: str
    quote_coin: str
    status: str  # the venue's status, e.g. "Trading"
    tick_size: str  # decimal string, e.g. "0.10"
    lot_size: str  # quantity step, decimal string, e.g. "0.001"
    min_qty_lots: SizeLots
    max_qty_lots: SizeLots
    min_notional: str  # quote currency, decimal string; "0" when the venue has no minimum

    def __post_init__(self) -> None:
        decimals.parse_step(self.tick_size, what="tick_size")
        decimals.parse_step(self.lot_size, what="lot_size")
        decimals.parse_decimal(self.min_notional, what="min_notional")
        if not 0 <= self.min_qty_lots <= self.max_qty_lots:
            raise ValueError(
                "min_qty_lots must be between 0 and max_qty_lots "
                f"{self.max_qty_lots}, was {self.min_qty_lots}"
            )

    def price_to_ticks(self, text: str) -> int:
        """Return the price string as whole ticks; ValueError if off the tick grid or invalid."""
        return decimals.to_units(text, self.tick_size, what="price", step_name="tick size")

    def ticks_to_price(self, ticks: int) -> str:
        """Write whole ticks as a price string with the tick's decimals (650001 -> "65000.10")."""
        return decimals.from_units(ticks, self.tick_size, what="price ticks", step_name="tick size")

    def qty_to_lots(self, text: str) -> int:
        """Return the quantity string as whole lots; ValueError if off the lot grid or invalid."""
        return decimals.to_units(text, self.lot_size, what="qty", step_name="lot size")

    def lots_to_qty(self, lots: int) -> str:
        """Write whole lots as a quantity string with the lot size's decimals."""
        return decimals.from_units(lots, self.lot_size, what="size lots", step_name="lot size")

    def notional(self, price_ticks: int, size_lots: int) -> Decimal:
        """The exact quote-currency value of `size_lots` at `price_ticks` (see `Grid.notional`)."""
        return self.grid().notional(price_ticks, size_lots)

    def grid(self) -> Grid:
        """This definition's trading grid, in the exact integer form services compute with."""
        return Grid(
            symbol=self.symbol,
            status=self.status,
            tick_size=decimals.parse_step(self.tick_size, what="tick_size"),
            lot_size=decimals.parse_step(self.lot_size, what="lot_size"),
            min_qty_lots=self.min_qty_lots,
            max_qty_lots=self.max_qty_lots,
            min_notional=decimals.parse_decimal(self.min_notional, what="min_notional"),
        )


def _integer_and_exponent(step: Decimal) -> tuple[int, int]:
    """`step` as `digits * 10**exponent` with integer digits (Decimal("0.10") -> (10, -2))."""
    sign, digits, exponent = step.as_tuple()
    assert isinstance(exponent, int)  # finite: parsed as a step
    assert not sign  # positive: parsed as a step
    return int("".join(map(str, digits))), exponent


@dataclass(frozen=True, slots=True)
class Grid:
    """One instrument's trading grid: the only type services compute ticks, lots and notional with.

    Units: prices are integer ticks of `tick_size`; sizes are integer lots of `lot_size` (base
    coin per lot); `min_qty_lots`/`max_qty_lots` are lots; `min_notional` and every notional are
    quote coin. `notional` and `min_lots` use integer arithmetic on the grid's digits, so they are
    exact for any tick and lot size. Build one with `InstrumentDefinition.grid()`.
    """

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty_lots: int = 1
    max_qty_lots: int = decimals.MAX_UNITS
    min_notional: Decimal = Decimal(0)
    status: str = TRADING_STATUS
    # notional(p, s) = p * s * _lot_value * 10**_exponent; min_notional in those units, ceiled.
    _lot_value: int = field(init=False, repr=False, compare=False)
    _exponent: int = field(init=False, repr=False, compare=False)
    _min_notional_units: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            if not (isinstance(value, Decimal) and value.is_finite() and value > 0):
                raise ValueError(f"{self.symbol}: {name} must be a positive decimal, was {value}")
        if not (self.min_notional.is_finite() and self.min_notional >= 0):
            raise ValueError(f"{self.symbol}: min_notional must be >= 0, was {self.min_notional}")
        if not 0 <= self.min_qty_lots <= self.max_qty_lots:
            raise ValueError(
                f"{self.symbol}: min_qty_lots must be between 0 and max_qty_lots "
                f"{self.max_qty_lots}, was {self.min_qty_lots}"
            )
        tick_digits, tick_exponent = _integer_and_exponent(self.tick_size)
        lot_digits, lot_exponent = _integer_and_exponent(self.lot_size)
        exponent = tick_exponent + lot_exponent
        units = self.min_notional.scaleb(-exponent, _EXACT).to_integral_value(ROUND_CEILING)
        object.__setattr__(self, "_lot_value", tick_digits * lot_digits)
        object.__setattr__(self, "_exponent", exponent)
        object.__setattr__(self, "_min_notional_units", int(units))

    @property
    def trading(self) -> bool:
        """Whether the venue accepts orders for the instrument (status "Trading")."""
        return self.status == TRADING_STATUS

    def notional(self, price_ticks: int | Decimal, size_lots: int) -> Decimal:
        """The exact quote-coin value of `size_lots` (signed) at `price_ticks` (a mid: x.5)."""
        if isinstance(price_ticks, int):
            units = price_ticks * size_lots * self._lot_value
            return Decimal(units).scaleb(self._exponent, _EXACT)
        doubled = price_ticks * 2
        if doubled == doubled.to_integral_value():  # a whole or half tick, as a mid is: x/2 = 5x/10
            units = int(doubled) * 5 * size_lots * self._lot_value
            return Decimal(units).scaleb(self._exponent - 1, _EXACT)
        product = decimals.multiply_exact(price_ticks, Decimal(size_lots * self._lot_value))
        return product.scaleb(self._exponent, _EXACT)

    def min_lots(self, price_ticks: int) -> int:
        """The fewest lots (at least one) an order at `price_ticks` may have (qty and notional)."""
        one_lot_units = max(price_ticks, 1) * self._lot_value
        by_notional = -(-self._min_notional_units // one_lot_units)
        return max(1, self.min_qty_lots, by_notional)

    def lots_within(self, notional: Decimal, price_ticks: int | Decimal) -> int:
        """The most whole lots whose value at `price_ticks` stays within `notional` (>= 0)."""
        one_lot = self.notional(price_ticks, 1)
        if one_lot <= 0 or notional <= 0:
            return 0
        return int((notional / one_lot).to_integral_value(rounding=ROUND_FLOOR))

    def lots(self, quantity: Decimal) -> int:
        """Whole lots in `quantity` base coin, rounded down (a size written in base coin)."""
        return int((quantity / self.lot_size).to_integral_value(rounding=ROUND_FLOOR))


class FeeSchedule(Message, frozen=True, kw_only=True, tag="fee_schedule"):
    """The account's own fee rates for one instrument, as the venue reports them.

    A negative maker rate is a rebate. The executor (which holds the account's keys) reads them
    from the venue at start and stores them; the quoter prices its spread floor from them.
    """

    venue: str
    category: str
    symbol: str
    maker_fee_rate: str  # decimal string, e.g. "0.0002" or "-0.00005"
    taker_fee_rate: str
    ts_loaded_ns: TimestampNs

    def __post_init__(self) -> None:
        decimals.parse_signed_decimal(self.maker_fee_rate, what="maker_fee_rate")
        decimals.parse_signed_decimal(self.taker_fee_rate, what="taker_fee_rate")

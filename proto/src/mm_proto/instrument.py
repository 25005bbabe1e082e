"""The instrument definition: the grid (tick, lot, minimums) that turns decimals into integers."""

from decimal import Decimal

from mm_proto import decimals
from mm_proto.message import Message, SizeLots, TimestampNs


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
        """The exact quote-currency value of `size_lots` at `price_ticks`."""
        price = Decimal(self.ticks_to_price(price_ticks))
        quantity = Decimal(self.lots_to_qty(size_lots))
        return decimals.multiply_exact(price, quantity)


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

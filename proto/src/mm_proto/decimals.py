"""Exact conversion between the venue's decimal strings and integer ticks or lots."""

import decimal
import re
from decimal import Decimal
from typing import TypeVar

_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_MAX_TEXT_LENGTH = 64
# Ticks and lots travel as msgpack int64; anything above this cannot be on the wire.
MAX_UNITS = 2**63 - 1
# Decimal digits before the point we accept at all; keeps integer conversions bounded.
_MAX_ADJUSTED_EXPONENT = 40
# Accepted texts and their values (Decimal and int are immutable): the same few prices, sizes
# and steps are parsed again and again on the hot paths. Only successes are kept, keyed by the
# text alone (acceptance does not depend on `what`), and the texts written from whole steps;
# each cache is emptied when it is full.
_CACHE_LIMIT = 65536
_PARSED: dict[str, Decimal] = {}
_UNITS: dict[tuple[str, str], int] = {}
_TEXTS: dict[tuple[int, str], str] = {}
Key = TypeVar("Key")
Value = TypeVar("Value")


def _remember(cache: dict[Key, Value], key: Key, value: Value) -> Value:
    """Keep an accepted result; a full cache is emptied first."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _exact_context() -> decimal.Context:
    """A context wide enough for every accepted input, trapping any rounding as an error."""
    context = decimal.Context(prec=200, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
    context.traps[decimal.Inexact] = True
    context.traps[decimal.Rounded] = True
    return context


def parse_decimal(text: str, *, what: str) -> Decimal:
    """Parse a non-negative, finite, plain decimal string such as "65000.10" or "1e-3", or raise.

    Accepted: digits with an optional fraction and optional exponent. Rejected with a ValueError
    naming `what` and the value: signs, NaN, infinity, whitespace, underscores, empty text.
    """
    exact = type(text) is str
    if exact and (cached := _PARSED.get(text)) is not None:
        return cached
    value = _parse_decimal(text, what=what)
    return _remember(_PARSED, text, value) if exact else value


def _parse_decimal(text: str, *, what: str) -> Decimal:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a decimal string, was {type(text).__name__} {text!r}")
    if len(text) > _MAX_TEXT_LENGTH:
        raise ValueError(
            f"{what} must be at most {_MAX_TEXT_LENGTH} characters, "
            f"was {len(text)}: {text[:20]!r}..."
        )
    lowered = text.strip().lower()
    if lowered.lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise ValueError(f"{what} must be a finite number, was {text!r}")
    if lowered.startswith("-"):
        raise ValueError(f"{what} must not be negative, was {text!r}")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise ValueError(f"{what} must be a plain decimal string like '65000.10', was {text!r}")
    value = Decimal(text)
    if value and value.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"{what} must be below 1e{_MAX_ADJUSTED_EXPONENT + 1}, was {text!r}")
    return value


def parse_signed_decimal(text: str, *, what: str) -> Decimal:
    """Like `parse_decimal`, but a leading "-" is allowed (fee rates: negative is a rebate)."""
    if isinstance(text, str) and text.startswith("-"):
        return -parse_decimal(text[1:], what=what)
    return parse_decimal(text, what=what)


def parse_step(text: str, *, what: str) -> Decimal:
    """Parse a tick or lot size: like `parse_decimal`, and strictly positive."""
    step = parse_decimal(text, what=what)
    if not step:
        raise ValueError(f"{what} must be greater than zero, was {text!r}")
    return step


def to_units(text: str, step_text: str, *, what: str, step_name: str) -> int:
    """Return `text` as a whole number of `step_text`, or raise if it is off that grid.

    `to_units("65000.10", "0.10", what="price", step_name="tick size")` is 650001.
    """
    exact = type(text) is str and type(step_text) is str
    if exact and (cached := _UNITS.get((text, step_text))) is not None:
        return cached
    units = _to_units(text, step_text, what=what, step_name=step_name)
    return _remember(_UNITS, (text, step_text), units) if exact else units


def _to_units(text: str, step_text: str, *, what: str, step_name: str) -> int:
    step = parse_step(step_text, what=step_name)
    value = parse_decimal(text, what=what)
    try:
        quotient = _exact_context().divide(value, step)
    except decimal.Inexact:
        quotient = None
    if quotient is None or quotient != quotient.to_integral_value():
        raise ValueError(f"{what} must be a multiple of {step_name} {step_text}, was {text}")
    units = int(quotient)
    if units > MAX_UNITS:
        raise ValueError(
            f"{what} must be at most {MAX_UNITS} {step_name} steps of {step_text}, was {text}"
        )
    return units


def step_decimals(step_text: str, *, step_name: str) -> int:
    """How many digits after the point a price or quantity on this grid is written with."""
    exponent = parse_step(step_text, what=step_name).as_tuple().exponent
    assert isinstance(exponent, int)  # finite by parse_step
    return max(0, -exponent)


def from_units(units: int, step_text: str, *, what: str, step_name: str) -> str:
    """Write a whole number of steps as the venue's decimal string, with the step's decimals.

    `from_units(650001, "0.10", what="price ticks", step_name="tick size")` is "65000.10".
    Memoised like `to_units` (an order's prices and sizes repeat).
    """
    exact = type(units) is int and type(step_text) is str  # not a bool, which equals 0 or 1
    if exact and (cached := _TEXTS.get((units, step_text))) is not None:
        return cached
    text = _from_units(units, step_text, what=what, step_name=step_name)
    return _remember(_TEXTS, (units, step_text), text) if exact else text


def _from_units(units: int, step_text: str, *, what: str, step_name: str) -> str:
    if isinstance(units, bool) or not isinstance(units, int):
        raise ValueError(f"{what} must be an int, was {type(units).__name__} {units!r}")
    if not 0 <= units <= MAX_UNITS:
        raise ValueError(f"{what} must be between 0 and {MAX_UNITS}, was {units}")
    step = parse_step(step_text, what=step_name)
    value = _exact_context().multiply(Decimal(units), step)
    decimals = step_decimals(step_text, step_name=step_name)
    return f"{value:.{decimals}f}"


def multiply_exact(*factors: Decimal) -> Decimal:
    """Multiply decimals without any rounding (raises decimal.Inexact rather than round)."""
    context = _exact_context()
    product = Decimal(1)
    for factor in factors:
        product = context.multiply(product, factor)
    return product

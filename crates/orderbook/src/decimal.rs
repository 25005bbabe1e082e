//! Exact conversion of venue decimal strings ("65000.10") to integer ticks and lots, never through floats.

use crate::error::BookError;

/// Most fraction digits accepted in a decimal (keeps every power of ten inside u64).
const MAX_SCALE: u32 = 18;

/// A price or size increment (tick size or lot size) and the unit conversion it defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    mantissa: u64,
    scale: u32,
    /// `k` when the mantissa is exactly 10^k (0.1, 0.01, 1, ...): division becomes constant.
    mantissa_power: Option<u32>,
    text: String,
}

/// A parsed non-negative decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub mantissa: u64,
    pub scale: u32,
}

impl Increment {
    /// Parse a positive increment such as "0.10"; `what` names it in errors ("tick size").
    pub fn parse(what: &'static str, text: &str) -> Result<Self, BookError> {
        let invalid = || BookError::InvalidIncrement {
            what,
            text: text.to_owned(),
        };
        let decimal = parse_decimal(text.as_bytes()).map_err(|_| invalid())?;
        if decimal.mantissa == 0 {
            return Err(invalid());
        }
        Ok(Self {
            mantissa: decimal.mantissa,
            scale: decimal.scale,
            mantissa_power: (0..20).find(|&k| POW10.get(k as usize) == Some(&decimal.mantissa)),
            text: text.to_owned(),
        })
    }

    /// The increment as written, e.g. "0.10".
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The increment as a float, for callers converting units back to venue values.
    pub fn as_f64(&self) -> f64 {
        self.mantissa as f64 / 10f64.powi(self.scale as i32)
    }

    /// How many increments `text` is; an error if it is not an exact multiple or not a decimal.
    pub fn units(&self, what: &'static str, text: &[u8]) -> Result<u64, BookError> {
        self.units_of(parse_decimal(text)?, what, text)
    }

    /// How many increments an already parsed `decimal` is; `text` is only for errors.
    #[inline]
    pub(crate) fn units_of(
        &self,
        decimal: Decimal,
        what: &'static str,
        text: &[u8],
    ) -> Result<u64, BookError> {
        // value / step with value = m * 10^a and step = tick * 10^b, one of a and b zero.
        let (value, shift) = if decimal.scale <= self.scale {
            let factor = pow10(self.scale - decimal.scale);
            let value = decimal.mantissa.checked_mul(factor);
            (value.ok_or_else(|| too_large(text))?, 0)
        } else {
            (decimal.mantissa, decimal.scale - self.scale)
        };
        let quotient = match self.mantissa_power {
            Some(power) => divide_by_power_of_ten(value, power + shift),
            None => match self.mantissa.checked_mul(pow10(shift)) {
                Some(step) => value.is_multiple_of(step).then_some(value / step),
                // The step exceeds any u64 value, so only zero is on the grid.
                None => (value == 0).then_some(0),
            },
        };
        quotient.ok_or_else(|| self.off_grid(what, text))
    }

    fn off_grid(&self, what: &'static str, text: &[u8]) -> BookError {
        BookError::OffGrid {
            what,
            text: lossy(text),
            step: self.text.clone(),
        }
    }
}

/// Powers of ten up to 10^19.
pub(crate) const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut index = 1;
    while index < 20 {
        table[index] = table[index - 1] * 10;
        index += 1;
    }
    table
};

/// 10^exponent; only called with exponents below 20 (scales are at most 18).
fn pow10(exponent: u32) -> u64 {
    POW10.get(exponent as usize).copied().unwrap_or(u64::MAX)
}

/// `value / 10^power` if exact; constant divisors let the compiler avoid a hardware divide.
#[inline]
fn divide_by_power_of_ten(value: u64, power: u32) -> Option<u64> {
    fn exact<const DIVISOR: u64>(value: u64) -> Option<u64> {
        value.is_multiple_of(DIVISOR).then_some(value / DIVISOR)
    }
    match power {
        0 => Some(value),
        1 => exact::<10>(value),
        2 => exact::<100>(value),
        3 => exact::<1_000>(value),
        4 => exact::<10_000>(value),
        5 => exact::<100_000>(value),
        6 => exact::<1_000_000>(value),
        7 => exact::<10_000_000>(value),
        8 => exact::<100_000_000>(value),
        9 => exact::<1_000_000_000>(value),
        _ => POW10
            .get(power as usize)
            .and_then(|&step| value.is_multiple_of(step).then_some(value / step))
            .or((value == 0).then_some(0)),
    }
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

fn too_large(text: &[u8]) -> BookError {
    BookError::TooLarge {
        text: lossy(text),
        max: u64::MAX,
    }
}

/// Parse `digits[.digits]`; anything else (sign, exponent, NaN, inf, spaces) is refused.
pub(crate) fn parse_decimal(text: &[u8]) -> Result<Decimal, BookError> {
    let not_decimal = || BookError::NotADecimal { text: lossy(text) };
    if text.first() == Some(&b'-') {
        return Err(BookError::Negative { text: lossy(text) });
    }
    let mut mantissa: u64 = 0;
    let mut scale: u32 = 0;
    let mut integer_digits = 0usize;
    let mut seen_dot = false;
    for &byte in text {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(byte - b'0')))
                    .ok_or_else(|| too_large(text))?;
                if seen_dot {
                    scale += 1;
                    if scale > MAX_SCALE {
                        return Err(not_decimal());
                    }
                } else {
                    integer_digits += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(not_decimal()),
        }
    }
    if integer_digits == 0 || (seen_dot && scale == 0) {
        return Err(not_decimal());
    }
    Ok(Decimal { mantissa, scale })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(text: &str) -> Increment {
        Increment::parse("tick size", text).unwrap()
    }

    #[test]
    fn converts_exactly_on_the_grid() {
        assert_eq!(tick("0.10").units("price", b"65000.10"), Ok(650001));
        assert_eq!(tick("0.1").units("price", b"65000.1"), Ok(650001));
        assert_eq!(tick("0.0001").units("price", b"1.95310"), Ok(19531));
        assert_eq!(tick("0.5").units("price", b"3"), Ok(6));
        assert_eq!(tick("5").units("price", b"15"), Ok(3));
        assert_eq!(tick("0.01").units("price", b"0"), Ok(0));
        assert_eq!(tick("0.001").units("size", b"0.000"), Ok(0));
    }

    #[test]
    fn refuses_off_grid_values() {
        let error = tick("0.10").units("price", b"65000.15").unwrap_err();
        assert_eq!(
            error.to_string(),
            "price \"65000.15\" is off the grid: expected a multiple of 0.10"
        );
        assert!(tick("5").units("price", b"12").is_err());
        assert!(tick("0.5").units("price", b"0.000000000000000001").is_err());
    }

    #[test]
    fn refuses_non_decimals() {
        let increment = tick("0.01");
        for text in [
            "", "NaN", "nan", "inf", "-inf", "1e5", "+1", " 1", "1 ", "1.", ".5", "1.2.3", "0x10",
            "１",
        ] {
            assert!(
                increment.units("price", text.as_bytes()).is_err(),
                "{text:?}"
            );
        }
        assert!(matches!(
            increment.units("price", b"-1.00"),
            Err(BookError::Negative { .. })
        ));
    }

    #[test]
    fn refuses_overflow_without_panicking() {
        let increment = tick("0.01");
        assert!(matches!(
            increment.units("price", b"999999999999999999999999"),
            Err(BookError::TooLarge { .. })
        ));
        assert!(matches!(
            increment.units("price", b"184467440737095516.15"),
            Ok(18446744073709551615)
        ));
        assert!(increment.units("price", b"184467440737095516.16").is_err());
        assert!(tick("1000000000")
            .units("price", b"0.0000000000000000001")
            .is_err());
    }

    #[test]
    fn refuses_bad_increments() {
        for text in ["0", "0.000", "-0.1", "abc", ""] {
            assert!(Increment::parse("tick size", text).is_err(), "{text:?}");
        }
    }
}

//! A strict, allocation-free JSON reader over bytes: just what the frame parser needs.
//!
//! Strings are returned as raw byte slices without unescaping: fields the book compares
//! (topic, type, symbol, prices, sizes) never contain escapes on the wire, and one that does
//! simply fails to match and is refused. Skipped values are fully validated, UTF-8 included.

use crate::decimal::{parse_decimal, Decimal, POW10};
use crate::error::BookError;

/// Most digits read without overflow checks: 19 nines still fit in a u64.
const MAX_DIGITS: usize = 19;

/// The value and count of the ASCII digits at the start of `bytes`; stops after
/// MAX_DIGITS + 1 digits so the value cannot overflow (callers refuse that many).
#[inline(always)]
fn leading_digits(bytes: &[u8]) -> (u64, usize) {
    let mut value: u64 = 0;
    let mut count = 0;
    for &byte in bytes.iter().take(MAX_DIGITS + 1) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
        count += 1;
    }
    (value, count)
}

/// A parsed decimal and the text it came from (for error messages).
pub type DecimalText<'a> = (Decimal, &'a [u8]);

/// `digits[.digits]` followed by a closing quote, within MAX_DIGITS digits and scale 18:
/// the decimal and its length in bytes (without the quote).
#[inline(always)]
fn plain_decimal(rest: &[u8]) -> Option<(Decimal, usize)> {
    let (whole, whole_digits) = leading_digits(rest);
    let (mantissa, scale, end) = match rest.get(whole_digits) {
        Some(b'.') => {
            let fraction = rest.get(whole_digits + 1..).unwrap_or_default();
            let (digits, count) = leading_digits(fraction);
            if count == 0 {
                return None;
            }
            let mantissa = whole.checked_mul(*POW10.get(count)?)?.checked_add(digits)?;
            (mantissa, count, whole_digits + 1 + count)
        }
        _ => (whole, 0, whole_digits),
    };
    let plain = whole_digits > 0 && whole_digits + scale <= MAX_DIGITS && scale <= 18;
    if !plain || rest.get(end) != Some(&b'"') {
        return None;
    }
    let scale = u32::try_from(scale).ok()?;
    Some((Decimal { mantissa, scale }, end))
}

/// Deepest nesting accepted in skipped values (bounds recursion on hostile input).
const MAX_DEPTH: u32 = 64;

pub struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// An InvalidJson error naming what was expected and where.
    pub fn error(&self, expected: &str) -> BookError {
        let found = match self.bytes.get(self.position) {
            Some(byte) => format!("{:?}", char::from(*byte)),
            None => "end of input".to_owned(),
        };
        BookError::InvalidJson {
            detail: format!(
                "expected {expected} at byte {}, found {found}",
                self.position
            ),
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes.get(self.position) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.position += 1;
        }
        None
    }

    /// Consume `byte` (after whitespace) or fail.
    #[inline(always)]
    pub fn expect(&mut self, byte: u8, expected: &str) -> Result<(), BookError> {
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// True (and consumed) if the next token is `byte`.
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.position += 1;
        }
        found
    }

    /// Only whitespace may follow the top-level value.
    pub fn finish(&mut self) -> Result<(), BookError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("end of input")),
        }
    }

    /// Visit each member of an object with its raw key.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Result<(), BookError>,
    ) -> Result<(), BookError> {
        self.expect(b'{', "'{'")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':', "':'")?;
            member(self, key)?;
            if !self.eat(b',') {
                return self.expect(b'}', "',' or '}'");
            }
        }
    }

    /// Visit each element of an array.
    pub fn array(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<(), BookError>,
    ) -> Result<(), BookError> {
        self.expect(b'[', "'['")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            element(self)?;
            if !self.eat(b',') {
                return self.expect(b']', "',' or ']'");
            }
        }
    }

    /// A string's raw contents (escapes left as written, validated).
    #[inline]
    pub fn string(&mut self) -> Result<&'a [u8], BookError> {
        self.expect(b'"', "a string")?;
        let start = self.position;
        let rest = self.bytes.get(start..).unwrap_or_default();
        // Fast path: plain printable ASCII up to the closing quote.
        let plain = rest
            .iter()
            .position(|&byte| !(0x20..0x80).contains(&byte) || byte == b'"' || byte == b'\\');
        if let Some(end) = plain {
            if rest.get(end) == Some(&b'"') {
                self.position = start + end + 1;
                return Ok(rest.get(..end).unwrap_or_default());
            }
        }
        self.string_slow(start)
    }

    /// Strings with escapes, non-ASCII text or errors.
    fn string_slow(&mut self, start: usize) -> Result<&'a [u8], BookError> {
        let mut ascii = true;
        loop {
            let Some(&byte) = self.bytes.get(self.position) else {
                return Err(self.error("'\"'"));
            };
            match byte {
                b'"' => break,
                b'\\' => self.escape()?,
                0x00..=0x1f => return Err(self.error("a string character")),
                0x80.. => {
                    ascii = false;
                    self.position += 1;
                }
                _ => self.position += 1,
            }
        }
        let text = self.bytes.get(start..self.position).unwrap_or_default();
        if !ascii && std::str::from_utf8(text).is_err() {
            return Err(self.error("UTF-8 text"));
        }
        self.position += 1;
        Ok(text)
    }

    fn escape(&mut self) -> Result<(), BookError> {
        self.position += 1;
        match self.bytes.get(self.position) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.position += 1,
            Some(b'u') => {
                let digits = self.bytes.get(self.position + 1..self.position + 5);
                if !digits.is_some_and(|d| d.iter().all(u8::is_ascii_hexdigit)) {
                    return Err(self.error("four hex digits after \\u"));
                }
                self.position += 5;
            }
            _ => return Err(self.error("an escape character")),
        }
        Ok(())
    }

    /// A JSON integer as i64 (no fraction or exponent).
    #[inline]
    pub fn integer(&mut self) -> Result<i64, BookError> {
        self.peek();
        let start = self.position;
        let negative = self.take(b'-');
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let (magnitude, count) = leading_digits(rest);
        self.position += count;
        let leading_zero = count > 1 && rest.first() == Some(&b'0');
        let fraction = matches!(self.bytes.get(self.position), Some(b'.' | b'e' | b'E'));
        if count == 0 || count > MAX_DIGITS || leading_zero || fraction {
            return Err(self.not_integer(start));
        }
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or_else(|| self.not_integer(start))
    }

    fn not_integer(&self, start: usize) -> BookError {
        let end = (start + 24).min(self.bytes.len());
        let text = self.bytes.get(start..end).unwrap_or_default();
        BookError::InvalidJson {
            detail: format!(
                "expected an integer at byte {start}, found {:?}",
                String::from_utf8_lossy(text)
            ),
        }
    }

    /// A string holding a plain decimal, parsed in the same pass; also returns its raw text.
    /// Anything unusual (long, signed, escaped, malformed) falls back to [`Cursor::string`]
    /// and [`parse_decimal`], which also words the error.
    #[inline]
    pub fn decimal(&mut self) -> Result<(Decimal, &'a [u8]), BookError> {
        self.expect(b'"', "a string")?;
        let start = self.position;
        let rest = self.bytes.get(start..).unwrap_or_default();
        if let Some((decimal, length)) = plain_decimal(rest) {
            self.position = start + length + 1;
            return Ok((decimal, rest.get(..length).unwrap_or_default()));
        }
        self.position = start - 1;
        let text = self.string()?;
        parse_decimal(text).map(|decimal| (decimal, text))
    }

    /// A compact `["price","size"]` pair of plain decimals, or None (and no move) for anything
    /// else, which the caller then reads token by token.
    #[inline]
    pub fn compact_pair(&mut self) -> Option<(DecimalText<'a>, DecimalText<'a>)> {
        let rest = self.bytes.get(self.position..)?;
        let after_open = rest.strip_prefix(b"[\"")?;
        let (price, price_length) = plain_decimal(after_open)?;
        let after_price = after_open.get(price_length..)?.strip_prefix(b"\",\"")?;
        let (size, size_length) = plain_decimal(after_price)?;
        after_price.get(size_length..)?.strip_prefix(b"\"]")?;
        self.position += 2 + price_length + 3 + size_length + 2;
        Some((
            (price, after_open.get(..price_length)?),
            (size, after_price.get(..size_length)?),
        ))
    }

    /// A JSON integer, or None for null.
    pub fn optional_integer(&mut self) -> Result<Option<i64>, BookError> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(None);
        }
        self.integer().map(Some)
    }

    /// Skip any value, validating it.
    pub fn skip_value(&mut self) -> Result<(), BookError> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: u32) -> Result<(), BookError> {
        if depth > MAX_DEPTH {
            return Err(self.error("less nesting"));
        }
        match self.peek() {
            Some(b'{') => self.object(|cursor, _| cursor.skip_nested(depth + 1)),
            Some(b'[') => self.array(|cursor| cursor.skip_nested(depth + 1)),
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), BookError> {
        if self.bytes.get(self.position..self.position + word.len()) == Some(word) {
            self.position += word.len();
            Ok(())
        } else {
            Err(self.error(&String::from_utf8_lossy(word)))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), BookError> {
        self.peek();
        self.take(b'-');
        match self.bytes.get(self.position) {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("a value")),
        }
        if self.take(b'.') {
            self.required_digits()?;
        }
        if self.take(b'e') || self.take(b'E') {
            if !self.take(b'+') {
                self.take(b'-');
            }
            self.required_digits()?;
        }
        Ok(())
    }

    #[inline(always)]
    fn take(&mut self, byte: u8) -> bool {
        let found = self.bytes.get(self.position) == Some(&byte);
        if found {
            self.position += 1;
        }
        found
    }

    fn digits(&mut self) {
        while self
            .bytes
            .get(self.position)
            .is_some_and(u8::is_ascii_digit)
        {
            self.position += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), BookError> {
        let start = self.position;
        self.digits();
        if self.position == start {
            return Err(self.error("a digit"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;

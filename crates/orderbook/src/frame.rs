//! Parsing of raw Bybit v5 `orderbook.{depth}.{symbol}` WebSocket frames into integer levels.
//!
//! One pass over the bytes with a strict JSON reader; prices and sizes go straight from their
//! decimal text to ticks and lots in caller-owned buffers, so a frame allocates nothing. Keys
//! may come in any order and unknown keys are skipped (validated); a duplicate known key is
//! refused. A frame must name exactly the book's topic (depth and symbol) and carry both
//! sides (`"b"` and `"a"`, `[]` when empty), as Bybit always does.

use crate::decimal::{Decimal, Increment};
use crate::error::BookError;
use crate::json::Cursor;
use crate::topic::BookTopic;

/// A key packed into a u64 (length, then up to 7 bytes), so matching compares integers;
/// longer keys (never ones the book reads) all map to u64::MAX.
const fn key_code(key: &[u8]) -> u64 {
    if key.len() > 7 {
        return u64::MAX;
    }
    let mut code = key.len() as u64;
    let mut index = 0;
    while index < key.len() {
        // In bounds: index < key.len().
        code |= (key[index] as u64) << (8 * index + 8);
        index += 1;
    }
    code
}

const KEY_TOPIC: u64 = key_code(b"topic");
const KEY_TYPE: u64 = key_code(b"type");
const KEY_TS: u64 = key_code(b"ts");
const KEY_CTS: u64 = key_code(b"cts");
const KEY_DATA: u64 = key_code(b"data");
const KEY_S: u64 = key_code(b"s");
const KEY_U: u64 = key_code(b"u");
const KEY_SEQ: u64 = key_code(b"seq");
const KEY_B: u64 = key_code(b"b");
const KEY_A: u64 = key_code(b"a");

/// Venue timestamps of a frame: `ts`, `cts` and `data.seq` (null or absent gives None).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameTimes {
    pub ts_ms: Option<i64>,
    pub cts_ms: Option<i64>,
    pub seq: Option<i64>,
}

/// Snapshot or delta, from the frame's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Snapshot,
    Delta,
}

/// Everything in a frame except its levels (those go to caller-owned buffers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    pub update_id: u64,
    pub times: FrameTimes,
}

/// The two increments that turn decimal text into integers.
struct Units<'a> {
    tick: &'a Increment,
    lot: &'a Increment,
}

/// Fields collected while walking the frame.
#[derive(Default)]
struct Fields<'a> {
    topic: Option<&'a [u8]>,
    kind: Option<&'a [u8]>,
    symbol: Option<&'a [u8]>,
    update_id: Option<i64>,
    data: Option<()>,
    bids: Option<()>,
    asks: Option<()>,
    ts: Option<Option<i64>>,
    cts: Option<Option<i64>>,
    seq: Option<Option<i64>>,
}

/// Parse and validate a frame of `topic`, writing its bids and asks as (ticks, lots).
pub fn parse_frame(
    data: &[u8],
    topic: &BookTopic,
    tick: &Increment,
    lot: &Increment,
    bids: &mut Vec<(i64, u64)>,
    asks: &mut Vec<(i64, u64)>,
) -> Result<FrameHeader, BookError> {
    bids.clear();
    asks.clear();
    let units = Units { tick, lot };
    let mut fields = Fields::default();
    let mut cursor = Cursor::new(data);
    cursor.object(|cursor, key| match key_code(key) {
        KEY_TOPIC => once(&mut fields.topic, key, cursor.string()?),
        KEY_TYPE => once(&mut fields.kind, key, cursor.string()?),
        KEY_TS => once(&mut fields.ts, key, cursor.optional_integer()?),
        KEY_CTS => once(&mut fields.cts, key, cursor.optional_integer()?),
        KEY_DATA => {
            once(&mut fields.data, key, ())?;
            parse_data(cursor, &units, &mut fields, bids, asks)
        }
        _ => cursor.skip_value(),
    })?;
    cursor.finish()?;
    header(&fields, topic)
}

fn parse_data<'a>(
    cursor: &mut Cursor<'a>,
    units: &Units<'_>,
    fields: &mut Fields<'a>,
    bids: &mut Vec<(i64, u64)>,
    asks: &mut Vec<(i64, u64)>,
) -> Result<(), BookError> {
    cursor.object(|cursor, key| match key_code(key) {
        KEY_S => once(&mut fields.symbol, key, cursor.string()?),
        KEY_U => once(&mut fields.update_id, key, cursor.integer()?),
        KEY_SEQ => once(&mut fields.seq, key, cursor.optional_integer()?),
        KEY_B => {
            once(&mut fields.bids, key, ())?;
            parse_levels(cursor, units, bids)
        }
        KEY_A => {
            once(&mut fields.asks, key, ())?;
            parse_levels(cursor, units, asks)
        }
        _ => cursor.skip_value(),
    })
}

/// Store a field, refusing a second occurrence of the same key.
fn once<T>(slot: &mut Option<T>, key: &[u8], value: T) -> Result<(), BookError> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

fn duplicate(key: &[u8]) -> BookError {
    BookError::InvalidJson {
        detail: format!("duplicate key {:?}", String::from_utf8_lossy(key)),
    }
}

/// `[["price","size"], ...]` into (ticks, lots).
fn parse_levels(
    cursor: &mut Cursor<'_>,
    units: &Units<'_>,
    out: &mut Vec<(i64, u64)>,
) -> Result<(), BookError> {
    cursor.array(|cursor| {
        let ((price, price_text), (size, size_text)) = match cursor.compact_pair() {
            Some(pair) => pair,
            None => {
                cursor.expect(b'[', "a [price, size] pair")?;
                let price = cursor.decimal()?;
                cursor.expect(b',', "',' between price and size")?;
                let size = cursor.decimal()?;
                cursor.expect(b']', "']' after price and size")?;
                (price, size)
            }
        };
        let lots = units.lot.units_of(size, "size", size_text)?;
        out.push((ticks(units.tick, price, price_text)?, lots));
        Ok(())
    })
}

fn ticks(tick: &Increment, price: Decimal, text: &[u8]) -> Result<i64, BookError> {
    let ticks = tick.units_of(price, "price", text)?;
    match i64::try_from(ticks) {
        Ok(0) => Err(BookError::NonPositivePrice { ticks: 0 }),
        Ok(ticks) => Ok(ticks),
        Err(_) => Err(BookError::TooLarge {
            text: String::from_utf8_lossy(text).into_owned(),
            max: i64::MAX as u64,
        }),
    }
}

fn missing(field: &str) -> BookError {
    BookError::InvalidJson {
        detail: format!("missing field {field:?}"),
    }
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

/// Check topic, symbol, type and both sides once every field is known.
fn header(fields: &Fields<'_>, expected: &BookTopic) -> Result<FrameHeader, BookError> {
    let topic = fields.topic.ok_or_else(|| missing("topic"))?;
    let kind = fields.kind.ok_or_else(|| missing("type"))?;
    fields.data.ok_or_else(|| missing("data"))?;
    let received = fields.symbol.ok_or_else(|| missing("data.s"))?;
    let update_id = fields.update_id.ok_or_else(|| missing("data.u"))?;
    expected.check(topic)?;
    if received != expected.symbol().as_bytes() {
        return Err(BookError::WrongSymbol {
            expected: expected.symbol().to_owned(),
            received: lossy(received),
        });
    }
    let kind = match kind {
        b"snapshot" => FrameKind::Snapshot,
        b"delta" => FrameKind::Delta,
        other => {
            return Err(BookError::UnknownType {
                received: lossy(other),
            })
        }
    };
    let update_id = u64::try_from(update_id).map_err(|_| BookError::InvalidJson {
        detail: format!("expected a non-negative update id \"u\", received {update_id}"),
    })?;
    let missing_side = |key| BookError::MissingSide { key, update_id };
    fields.bids.ok_or_else(|| missing_side("b"))?;
    fields.asks.ok_or_else(|| missing_side("a"))?;
    Ok(FrameHeader {
        kind,
        update_id,
        times: FrameTimes {
            ts_ms: fields.ts.flatten(),
            cts_ms: fields.cts.flatten(),
            seq: fields.seq.flatten(),
        },
    })
}

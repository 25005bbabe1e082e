//! Parsing of raw Bybit v5 `orderbook.{depth}.{symbol}` WebSocket frames into integer levels.

use serde::Deserialize;

use crate::book::FrameTimes;
use crate::decimal::Increment;
use crate::error::BookError;

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

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(borrow)]
    topic: &'a str,
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default)]
    cts: Option<i64>,
    #[serde(borrow)]
    data: RawData<'a>,
}

#[derive(Deserialize)]
struct RawData<'a> {
    #[serde(borrow)]
    s: &'a str,
    #[serde(default, borrow)]
    b: Vec<(&'a str, &'a str)>,
    #[serde(default, borrow)]
    a: Vec<(&'a str, &'a str)>,
    u: u64,
    #[serde(default)]
    seq: Option<i64>,
}

/// Parse and validate a frame for `symbol`, writing its bids and asks as (ticks, lots).
pub fn parse_frame(
    data: &[u8],
    symbol: &str,
    tick: &Increment,
    lot: &Increment,
    bids: &mut Vec<(i64, u64)>,
    asks: &mut Vec<(i64, u64)>,
) -> Result<FrameHeader, BookError> {
    let raw: RawFrame<'_> =
        serde_json::from_slice(data).map_err(|error| BookError::InvalidJson {
            detail: error.to_string(),
        })?;
    check_topic(raw.topic, symbol)?;
    if raw.data.s != symbol {
        return Err(BookError::WrongSymbol {
            expected: symbol.to_owned(),
            received: raw.data.s.to_owned(),
        });
    }
    let kind = match raw.kind {
        "snapshot" => FrameKind::Snapshot,
        "delta" => FrameKind::Delta,
        other => {
            return Err(BookError::UnknownType {
                received: other.to_owned(),
            })
        }
    };
    convert_levels(&raw.data.b, tick, lot, bids)?;
    convert_levels(&raw.data.a, tick, lot, asks)?;
    Ok(FrameHeader {
        kind,
        update_id: raw.data.u,
        times: FrameTimes {
            ts_ms: raw.ts,
            cts_ms: raw.cts,
            seq: raw.data.seq,
        },
    })
}

/// The topic must be `orderbook.<depth>.<symbol>` with a non-empty depth.
fn check_topic(topic: &str, symbol: &str) -> Result<(), BookError> {
    let depth = topic
        .strip_prefix("orderbook.")
        .and_then(|rest| rest.strip_suffix(symbol))
        .and_then(|rest| rest.strip_suffix('.'));
    match depth {
        Some(depth) if !depth.is_empty() && !depth.contains('.') => Ok(()),
        _ => Err(BookError::WrongTopic {
            expected: symbol.to_owned(),
            received: topic.to_owned(),
        }),
    }
}

fn convert_levels(
    raw: &[(&str, &str)],
    tick: &Increment,
    lot: &Increment,
    out: &mut Vec<(i64, u64)>,
) -> Result<(), BookError> {
    out.clear();
    for &(price, size) in raw {
        let ticks = tick.units("price", price.as_bytes())?;
        let ticks = i64::try_from(ticks).map_err(|_| BookError::TooLarge {
            text: price.to_owned(),
            max: i64::MAX as u64,
        })?;
        if ticks == 0 {
            return Err(BookError::NonPositivePrice { ticks });
        }
        out.push((ticks, lot.units("size", size.as_bytes())?));
    }
    Ok(())
}

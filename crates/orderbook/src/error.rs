//! Why an update or a conversion was refused: one error enum whose messages carry the offending values.

use thiserror::Error;

/// Every way an input can be refused; a refused apply leaves the book exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("invalid decimal {text:?}: expected digits with an optional '.' and fraction digits")]
    NotADecimal { text: String },
    #[error("negative value {text:?}: expected zero or more")]
    Negative { text: String },
    #[error("value {text:?} is too large: expected at most {max} units")]
    TooLarge { text: String, max: u64 },
    #[error("{what} {text:?} is off the grid: expected a multiple of {step}")]
    OffGrid {
        what: &'static str,
        text: String,
        step: String,
    },
    #[error("invalid {what} {text:?}: expected a positive decimal")]
    InvalidIncrement { what: &'static str, text: String },
    #[error("price {ticks} ticks: expected a positive price")]
    NonPositivePrice { ticks: i64 },
    #[error("size {lots} lots at price {ticks} ticks: expected zero or more")]
    NegativeSize { ticks: i64, lots: i64 },
    #[error("invalid JSON frame: {detail}")]
    InvalidJson { detail: String },
    #[error("wrong topic: expected {expected:?}, received {received:?}")]
    WrongTopic { expected: String, received: String },
    #[error("wrong depth in topic {topic:?}: expected {expected} levels, received {received:?}")]
    WrongDepth {
        expected: u32,
        received: String,
        topic: String,
    },
    #[error(
        "frame {update_id} has no {key:?} levels: expected both \"b\" and \"a\" in every \
         orderbook frame ([] for an empty side)"
    )]
    MissingSide { key: &'static str, update_id: u64 },
    #[error("wrong symbol: expected {expected:?}, received {received:?}")]
    WrongSymbol { expected: String, received: String },
    #[error("unknown frame type: expected \"snapshot\" or \"delta\", received {received:?}")]
    UnknownType { received: String },
    #[error("invalid basis points {value}: expected a finite number >= 0")]
    InvalidBps { value: String },
    #[error("invalid side {received:?}: expected \"bid\" or \"ask\"")]
    InvalidSide { received: String },
    #[error("vwap needs exactly one of qty_lots or notional, received {received}")]
    VwapTarget { received: &'static str },
    #[error("vwap {what} {received}: expected zero or more")]
    VwapAmount { what: &'static str, received: i128 },
    #[error("depth limit {received}: expected a positive number of levels or None")]
    InvalidDepthLimit { received: i64 },
    #[error("book depth {received}: expected the positive depth of an orderbook.<depth> topic")]
    InvalidDepth { received: i64 },
    #[error("crossed book after update {update_id}: best bid {bid} ticks >= best ask {ask} ticks")]
    Crossed { update_id: u64, bid: i64, ask: i64 },
}

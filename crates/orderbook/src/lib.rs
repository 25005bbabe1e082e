//! L2 order book for Bybit v5 market data in exact integer ticks and lots.
//!
//! The core is pure Rust: [`OrderBook`] applies snapshots and deltas (as level lists or as raw
//! WebSocket frames parsed here), sequences them by update id, refuses malformed or crossing
//! input atomically, and answers the queries a market maker needs. The PyO3 binding
//! (`mm_orderbook` in Python) lives behind the `python` feature.

mod book;
mod decimal;
mod error;
mod frame;
mod json;
mod queries;
mod side;
mod topic;

#[cfg(feature = "python")]
mod python;

pub use book::{ApplyOutcome, OrderBook};
pub use decimal::Increment;
pub use error::BookError;
pub use frame::{parse_frame, FrameHeader, FrameKind, FrameTimes};
pub use queries::TopLevels;
pub use side::{BookSide, Side};
pub use topic::BookTopic;

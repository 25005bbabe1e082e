//! The one topic a book accepts, `orderbook.{depth}.{symbol}`, and the check of a frame's topic
//! against it: another depth of the same symbol is refused as such (Bybit sends every depth of a
//! symbol with its own sequence, so two depths in one book would corrupt it).

use crate::error::BookError;

/// The one topic a book accepts: `orderbook.{depth}.{symbol}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTopic {
    symbol: String,
    depth: u32,
    text: String,
}

impl BookTopic {
    /// The topic of `symbol` at `depth` levels (at least 1).
    pub fn new(symbol: &str, depth: u32) -> Result<Self, BookError> {
        if depth == 0 {
            return Err(BookError::InvalidDepth { received: 0 });
        }
        Ok(Self {
            symbol: symbol.to_owned(),
            depth,
            text: format!("orderbook.{depth}.{symbol}"),
        })
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The topic as Bybit writes it, e.g. `orderbook.50.BTCUSDT`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Ok for exactly this topic; WrongDepth for this symbol at another depth, else WrongTopic.
    pub(crate) fn check(&self, topic: &[u8]) -> Result<(), BookError> {
        if topic == self.text.as_bytes() {
            return Ok(());
        }
        let depth = topic
            .strip_prefix(b"orderbook.")
            .and_then(|rest| rest.strip_suffix(self.symbol.as_bytes()))
            .and_then(|rest| rest.strip_suffix(b"."));
        match depth {
            Some(depth) if !depth.is_empty() && !depth.contains(&b'.') => {
                Err(BookError::WrongDepth {
                    expected: self.depth,
                    received: lossy(depth),
                    topic: lossy(topic),
                })
            }
            _ => Err(BookError::WrongTopic {
                expected: self.text.clone(),
                received: lossy(topic),
            }),
        }
    }
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

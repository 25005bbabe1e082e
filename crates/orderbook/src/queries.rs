//! Read-only questions about a book: touch, mid, microprice, spread, VWAP, depth, imbalance,
//! top-of-book arrays and a cheap fingerprint.

use crate::book::OrderBook;
use crate::error::BookError;
use crate::side::Side;

/// The best `n` levels per side as parallel arrays (best first), for publishing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopLevels {
    pub bid_prices: Vec<i64>,
    pub bid_sizes: Vec<u64>,
    pub ask_prices: Vec<i64>,
    pub ask_sizes: Vec<u64>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl OrderBook {
    /// Best level of a side as (price ticks, lots).
    pub fn best(&self, side: Side) -> Option<(i64, u64)> {
        self.side(side).best()
    }

    fn touch(&self) -> Option<((i64, u64), (i64, u64))> {
        Some((self.bids.best()?, self.asks.best()?))
    }

    /// (best bid + best ask) / 2 in ticks.
    pub fn mid_ticks(&self) -> Option<f64> {
        let ((bid, _), (ask, _)) = self.touch()?;
        Some((bid as f64 + ask as f64) / 2.0)
    }

    /// Size-weighted mid in ticks: (bid * ask_size + ask * bid_size) / (bid_size + ask_size).
    pub fn microprice(&self) -> Option<f64> {
        let ((bid, bid_lots), (ask, ask_lots)) = self.touch()?;
        let (bid_lots, ask_lots) = (bid_lots as f64, ask_lots as f64);
        Some((bid as f64 * ask_lots + ask as f64 * bid_lots) / (bid_lots + ask_lots))
    }

    /// Best ask minus best bid in ticks.
    pub fn spread_ticks(&self) -> Option<i64> {
        let ((bid, _), (ask, _)) = self.touch()?;
        Some(ask - bid)
    }

    /// Spread relative to mid, in basis points.
    pub fn spread_bps(&self) -> Option<f64> {
        let spread = self.spread_ticks()? as f64;
        Some(spread / self.mid_ticks()? * 10_000.0)
    }

    /// Average price in ticks to trade `lots` against a side; None if the side is too thin.
    pub fn vwap_quantity(&self, side: Side, lots: u64) -> Option<f64> {
        if lots == 0 {
            return None;
        }
        let mut remaining = lots;
        let mut notional: u128 = 0;
        for (price, size) in self.side(side).iter() {
            let take = remaining.min(size);
            notional += price as u128 * u128::from(take);
            remaining -= take;
            if remaining == 0 {
                return Some(notional as f64 / lots as f64);
            }
        }
        None
    }

    /// Average price in ticks to trade `notional` (ticks x lots) against a side; None if too thin.
    pub fn vwap_notional(&self, side: Side, notional: u128) -> Option<f64> {
        if notional == 0 {
            return None;
        }
        let mut spent: u128 = 0;
        let mut lots: u128 = 0;
        for (price, size) in self.side(side).iter() {
            let level = price as u128 * u128::from(size);
            // Saturating: a sum past u128::MAX is certainly >= any target.
            if spent.saturating_add(level) >= notional {
                let partial = (notional - spent) as f64 / price as f64;
                return Some(notional as f64 / (lots as f64 + partial));
            }
            spent += level;
            lots += u128::from(size);
        }
        None
    }

    /// Total (lots, notional in ticks x lots) of a side's levels within `bps` of mid; each total
    /// saturates (at u64::MAX lots, u128::MAX notional) rather than wrap on absurd sizes.
    pub fn depth_within_bps(&self, side: Side, bps: f64) -> Result<Option<(u64, u128)>, BookError> {
        if !bps.is_finite() || bps < 0.0 {
            return Err(BookError::InvalidBps {
                value: bps.to_string(),
            });
        }
        let Some(mid) = self.mid_ticks() else {
            return Ok(None);
        };
        let offset = mid * bps / 10_000.0;
        let inside = |price: i64| match side {
            Side::Bid => price as f64 >= mid - offset,
            Side::Ask => price as f64 <= mid + offset,
        };
        let (mut lots, mut notional) = (0u64, 0u128);
        for (price, size) in self
            .side(side)
            .iter()
            .take_while(|&(price, _)| inside(price))
        {
            lots = lots.saturating_add(size);
            notional = notional.saturating_add(price as u128 * u128::from(size));
        }
        Ok(Some((lots, notional)))
    }

    /// (bid lots - ask lots) / (bid lots + ask lots) over the best `levels` of each side.
    pub fn imbalance(&self, levels: usize) -> Option<f64> {
        let bid: u128 = self
            .bids
            .iter()
            .take(levels)
            .map(|(_, s)| u128::from(s))
            .sum();
        let ask: u128 = self
            .asks
            .iter()
            .take(levels)
            .map(|(_, s)| u128::from(s))
            .sum();
        let total = bid + ask;
        if total == 0 {
            return None;
        }
        Some((bid as f64 - ask as f64) / total as f64)
    }

    /// The best `n` levels of each side as parallel arrays.
    pub fn top_levels(&self, n: usize) -> TopLevels {
        let (bid_prices, bid_sizes) = self.bids.iter().take(n).unzip();
        let (ask_prices, ask_sizes) = self.asks.iter().take(n).unzip();
        TopLevels {
            bid_prices,
            bid_sizes,
            ask_prices,
            ask_sizes,
        }
    }

    /// Hash of the best `n` levels of both sides (FNV-1a over 64-bit words, with an xor-shift
    /// per word): equal books give equal fingerprints; different ones almost surely differ.
    pub fn fingerprint(&self, n: usize) -> u64 {
        let mut hash = FNV_OFFSET;
        let mut feed = |value: u64| {
            hash = (hash ^ value).wrapping_mul(FNV_PRIME);
            hash ^= hash >> 29;
        };
        for (price, size) in self.bids.iter().take(n) {
            feed(price as u64);
            feed(size);
        }
        feed(u64::MAX);
        for (price, size) in self.asks.iter().take(n) {
            feed(price as u64);
            feed(size);
        }
        hash
    }
}

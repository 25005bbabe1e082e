//! The order book of one symbol at one depth: sequencing of venue updates and atomic apply of
//! level batches.

use crate::decimal::Increment;
use crate::error::BookError;
use crate::frame::{parse_frame, FrameKind, FrameTimes};
use crate::side::{BookSide, Side};
use crate::topic::BookTopic;

/// Converted (price ticks, size lots) levels of one update: bids, then asks.
type LevelBuffers = (Vec<(i64, u64)>, Vec<(i64, u64)>);

/// What an apply did with an update, by its sequence number `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyOutcome {
    /// A delta that followed the last update: applied.
    Applied { update_id: u64 },
    /// A snapshot (or `u == 1`): the book was replaced.
    Reset { update_id: u64 },
    /// A delta that skips ahead (or arrives before any snapshot): book untouched, resync needed.
    Gap {
        expected: Option<u64>,
        received: u64,
    },
    /// A delta not newer than the last update: ignored, book untouched.
    Stale { last: u64, received: u64 },
}

/// An L2 book in integer ticks and lots for one instrument, fed by one `orderbook.{depth}` topic.
#[derive(Debug, Clone)]
pub struct OrderBook {
    topic: BookTopic,
    tick: Increment,
    lot: Increment,
    depth_limit: usize,
    pub(crate) bids: BookSide,
    pub(crate) asks: BookSide,
    last_update_id: Option<u64>,
    times: FrameTimes,
    undo: Vec<(Side, i64, Option<u64>)>,
    spare: (BookSide, BookSide),
    scratch: LevelBuffers,
}

impl OrderBook {
    /// A new empty book for the topic `orderbook.{depth}.{symbol}`; `tick_size` and `lot_size`
    /// are the venue's decimal strings and `depth_limit` (at least 1; default `depth`) trims
    /// each side to that many levels after every apply. Frames of any other topic are refused.
    pub fn new(
        symbol: &str,
        tick_size: &str,
        lot_size: &str,
        depth: u32,
        depth_limit: Option<usize>,
    ) -> Result<Self, BookError> {
        let topic = BookTopic::new(symbol, depth)?;
        let depth_limit = match depth_limit {
            Some(0) => return Err(BookError::InvalidDepthLimit { received: 0 }),
            Some(limit) => limit,
            None => usize::try_from(depth).unwrap_or(usize::MAX),
        };
        Ok(Self {
            topic,
            tick: Increment::parse("tick size", tick_size)?,
            lot: Increment::parse("lot size", lot_size)?,
            depth_limit,
            bids: BookSide::new(Side::Bid),
            asks: BookSide::new(Side::Ask),
            last_update_id: None,
            times: FrameTimes::default(),
            undo: Vec::new(),
            spare: (BookSide::new(Side::Bid), BookSide::new(Side::Ask)),
            scratch: (Vec::new(), Vec::new()),
        })
    }

    pub fn symbol(&self) -> &str {
        self.topic.symbol()
    }

    /// The depth of the book's topic (levels per side the venue maintains).
    pub fn depth(&self) -> u32 {
        self.topic.depth()
    }

    /// The only topic whose frames the book accepts, e.g. `orderbook.50.BTCUSDT`.
    pub fn topic(&self) -> &str {
        self.topic.text()
    }

    pub fn tick_size(&self) -> &Increment {
        &self.tick
    }

    pub fn lot_size(&self) -> &Increment {
        &self.lot
    }

    pub fn depth_limit(&self) -> usize {
        self.depth_limit
    }

    pub fn last_update_id(&self) -> Option<u64> {
        self.last_update_id
    }

    pub fn times(&self) -> FrameTimes {
        self.times
    }

    pub fn side(&self, side: Side) -> &BookSide {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// Replace the whole book with these levels (price ticks, size lots).
    pub fn apply_snapshot(
        &mut self,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
        update_id: u64,
    ) -> Result<ApplyOutcome, BookError> {
        let (bid_levels, ask_levels) = self.checked_levels(bids, asks)?;
        let outcome = self.install_snapshot(&bid_levels, &ask_levels, update_id);
        self.scratch = (bid_levels, ask_levels);
        outcome
    }

    /// Apply changed levels (size 0 deletes) if `update_id` follows the last update.
    pub fn apply_delta(
        &mut self,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
        update_id: u64,
    ) -> Result<ApplyOutcome, BookError> {
        let (bid_levels, ask_levels) = self.checked_levels(bids, asks)?;
        let outcome = self.sequence_delta(&bid_levels, &ask_levels, update_id);
        self.scratch = (bid_levels, ask_levels);
        outcome
    }

    /// Parse and apply one raw Bybit v5 frame of the book's `orderbook.{depth}.{symbol}` topic.
    pub fn apply_frame(&mut self, data: &[u8]) -> Result<ApplyOutcome, BookError> {
        let (mut bid_levels, mut ask_levels) = std::mem::take(&mut self.scratch);
        let parsed = parse_frame(
            data,
            &self.topic,
            &self.tick,
            &self.lot,
            &mut bid_levels,
            &mut ask_levels,
        );
        let outcome = parsed.and_then(|header| {
            let outcome = match header.kind {
                FrameKind::Snapshot => {
                    self.install_snapshot(&bid_levels, &ask_levels, header.update_id)
                }
                FrameKind::Delta => self.sequence_delta(&bid_levels, &ask_levels, header.update_id),
            }?;
            if matches!(
                outcome,
                ApplyOutcome::Applied { .. } | ApplyOutcome::Reset { .. }
            ) {
                self.times = header.times;
            }
            Ok(outcome)
        });
        self.scratch = (bid_levels, ask_levels);
        outcome
    }

    /// Validate integer levels from a caller into the scratch buffers.
    fn checked_levels(
        &mut self,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> Result<LevelBuffers, BookError> {
        let (mut bid_levels, mut ask_levels) = std::mem::take(&mut self.scratch);
        let checked = check_levels(bids, &mut bid_levels).and(check_levels(asks, &mut ask_levels));
        match checked {
            Ok(()) => Ok((bid_levels, ask_levels)),
            Err(error) => {
                self.scratch = (bid_levels, ask_levels);
                Err(error)
            }
        }
    }

    fn install_snapshot(
        &mut self,
        bids: &[(i64, u64)],
        asks: &[(i64, u64)],
        update_id: u64,
    ) -> Result<ApplyOutcome, BookError> {
        let (spare_bids, spare_asks) = &mut self.spare;
        spare_bids.replace(bids);
        spare_asks.replace(asks);
        crossing(spare_bids, spare_asks, update_id)?;
        std::mem::swap(&mut self.bids, spare_bids);
        std::mem::swap(&mut self.asks, spare_asks);
        self.spare.0.clear();
        self.spare.1.clear();
        self.trim();
        self.last_update_id = Some(update_id);
        Ok(ApplyOutcome::Reset { update_id })
    }

    fn sequence_delta(
        &mut self,
        bids: &[(i64, u64)],
        asks: &[(i64, u64)],
        update_id: u64,
    ) -> Result<ApplyOutcome, BookError> {
        if update_id == 1 {
            return self.install_snapshot(bids, asks, update_id);
        }
        match self.last_update_id {
            None => Ok(ApplyOutcome::Gap {
                expected: None,
                received: update_id,
            }),
            Some(last) if update_id <= last => Ok(ApplyOutcome::Stale {
                last,
                received: update_id,
            }),
            Some(last) if update_id != last + 1 => Ok(ApplyOutcome::Gap {
                expected: Some(last + 1),
                received: update_id,
            }),
            Some(_) => {
                self.change_levels(bids, asks, update_id)?;
                self.last_update_id = Some(update_id);
                Ok(ApplyOutcome::Applied { update_id })
            }
        }
    }

    /// Apply a delta's levels, rolling every change back if the result is crossed.
    fn change_levels(
        &mut self,
        bids: &[(i64, u64)],
        asks: &[(i64, u64)],
        update_id: u64,
    ) -> Result<(), BookError> {
        self.undo.clear();
        for &(price, lots) in bids {
            let previous = self.bids.set(price, lots);
            self.undo.push((Side::Bid, price, previous));
        }
        for &(price, lots) in asks {
            let previous = self.asks.set(price, lots);
            self.undo.push((Side::Ask, price, previous));
        }
        if let Err(error) = crossing(&self.bids, &self.asks, update_id) {
            for &(side, price, previous) in self.undo.iter().rev() {
                match side {
                    Side::Bid => self.bids.restore(price, previous),
                    Side::Ask => self.asks.restore(price, previous),
                }
            }
            return Err(error);
        }
        self.trim();
        Ok(())
    }

    fn trim(&mut self) {
        self.bids.truncate(self.depth_limit);
        self.asks.truncate(self.depth_limit);
    }
}

/// An error if the best bid is at or above the best ask.
fn crossing(bids: &BookSide, asks: &BookSide, update_id: u64) -> Result<(), BookError> {
    match (bids.best(), asks.best()) {
        (Some((bid, _)), Some((ask, _))) if bid >= ask => Err(BookError::Crossed {
            update_id,
            bid,
            ask,
        }),
        _ => Ok(()),
    }
}

/// Check caller-given (price ticks, size lots) pairs: positive prices, non-negative sizes.
fn check_levels(levels: &[(i64, i64)], out: &mut Vec<(i64, u64)>) -> Result<(), BookError> {
    out.clear();
    for &(ticks, lots) in levels {
        if ticks <= 0 {
            return Err(BookError::NonPositivePrice { ticks });
        }
        let lots = u64::try_from(lots).map_err(|_| BookError::NegativeSize { ticks, lots })?;
        out.push((ticks, lots));
    }
    Ok(())
}

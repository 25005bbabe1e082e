//! One side of the book: price levels kept sorted in a Vec with the best level last.
//!
//! Keys are `price * sign` (bids +1, asks -1) so both sides sort ascending with the best price
//! at the end: inserting or deleting near the touch moves few elements, and nothing is rebuilt.

/// Which side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Bid,
    Ask,
}

impl Side {
    /// "bid" or "ask", as Python callers name a side.
    pub fn parse(text: &str) -> Result<Self, crate::error::BookError> {
        match text {
            "bid" => Ok(Side::Bid),
            "ask" => Ok(Side::Ask),
            _ => Err(crate::error::BookError::InvalidSide {
                received: text.to_owned(),
            }),
        }
    }

    fn sign(self) -> i64 {
        match self {
            Side::Bid => 1,
            Side::Ask => -1,
        }
    }
}

/// A price level as stored: sort key and size in lots (never zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    key: i64,
    lots: u64,
}

/// The sorted levels of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSide {
    side: Side,
    levels: Vec<Level>,
}

impl BookSide {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            levels: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Best level as (price ticks, lots).
    pub fn best(&self) -> Option<(i64, u64)> {
        self.levels.last().map(|level| self.unkey(level))
    }

    /// Levels from the best outward as (price ticks, lots).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (i64, u64)> + '_ {
        self.levels.iter().rev().map(|level| self.unkey(level))
    }

    /// Size at a price, if the level exists.
    pub fn get(&self, price: i64) -> Option<u64> {
        let key = price * self.side.sign();
        self.search(key).ok().map(|index| self.levels[index].lots)
    }

    /// Set a level's size (0 deletes); returns the size it had before, for undo.
    pub fn set(&mut self, price: i64, lots: u64) -> Option<u64> {
        let key = price * self.side.sign();
        match (self.search(key), lots) {
            (Ok(index), 0) => Some(self.levels.remove(index).lots),
            (Ok(index), _) => Some(std::mem::replace(&mut self.levels[index].lots, lots)),
            (Err(_), 0) => None,
            (Err(index), _) => {
                self.levels.insert(index, Level { key, lots });
                None
            }
        }
    }

    /// Restore a level to a size recorded by `set` (None removes it).
    pub fn restore(&mut self, price: i64, previous: Option<u64>) {
        self.set(price, previous.unwrap_or(0));
    }

    /// Replace every level with `levels` (price ticks, lots); a repeated price keeps its last
    /// size and zero sizes leave no level.
    pub fn replace(&mut self, levels: &[(i64, u64)]) {
        let sign = self.side.sign();
        self.levels.clear();
        self.levels
            .extend(levels.iter().map(|&(price, lots)| Level {
                key: price * sign,
                lots,
            }));
        // Stable sort then keep the last of equal keys: a later entry wins, as if applied in
        // order, and only then drop zero sizes.
        self.levels.sort_by_key(|level| level.key);
        self.levels.reverse();
        self.levels.dedup_by_key(|level| level.key);
        self.levels.reverse();
        self.levels.retain(|level| level.lots > 0);
    }

    /// Keep only the best `depth` levels.
    pub fn truncate(&mut self, depth: usize) {
        let excess = self.levels.len().saturating_sub(depth);
        if excess > 0 {
            self.levels.drain(..excess);
        }
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    fn search(&self, key: i64) -> Result<usize, usize> {
        self.levels.binary_search_by_key(&key, |level| level.key)
    }

    fn unkey(&self, level: &Level) -> (i64, u64) {
        (level.key * self.side.sign(), level.lots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bids_iterate_from_highest_and_asks_from_lowest() {
        let mut bids = BookSide::new(Side::Bid);
        let mut asks = BookSide::new(Side::Ask);
        bids.replace(&[(10, 1), (12, 2), (11, 3)]);
        asks.replace(&[(15, 1), (13, 2), (14, 3)]);
        assert_eq!(bids.iter().collect::<Vec<_>>(), [(12, 2), (11, 3), (10, 1)]);
        assert_eq!(asks.iter().collect::<Vec<_>>(), [(13, 2), (14, 3), (15, 1)]);
        assert_eq!(bids.best(), Some((12, 2)));
        assert_eq!(asks.best(), Some((13, 2)));
    }

    #[test]
    fn set_inserts_replaces_deletes_and_restores() {
        let mut bids = BookSide::new(Side::Bid);
        assert_eq!(bids.set(10, 5), None);
        assert_eq!(bids.set(10, 7), Some(5));
        assert_eq!(bids.set(9, 0), None);
        assert_eq!(bids.set(10, 0), Some(7));
        assert!(bids.is_empty());
        bids.restore(10, Some(7));
        assert_eq!(bids.get(10), Some(7));
        bids.restore(10, None);
        assert_eq!(bids.get(10), None);
    }

    #[test]
    fn replace_skips_zero_and_keeps_last_duplicate() {
        let mut asks = BookSide::new(Side::Ask);
        asks.replace(&[(5, 1), (6, 0), (5, 9), (7, 2), (8, 3), (8, 0)]);
        assert_eq!(asks.iter().collect::<Vec<_>>(), [(5, 9), (7, 2)]);
    }

    #[test]
    fn truncate_keeps_the_best_levels() {
        let mut bids = BookSide::new(Side::Bid);
        bids.replace(&[(1, 1), (2, 1), (3, 1), (4, 1)]);
        bids.truncate(2);
        assert_eq!(bids.iter().collect::<Vec<_>>(), [(4, 1), (3, 1)]);
        bids.truncate(10);
        assert_eq!(bids.len(), 2);
    }
}

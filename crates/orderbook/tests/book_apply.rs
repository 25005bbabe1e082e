//! Sequencing, atomicity and queries of `OrderBook` through its level-list API.

use mm_orderbook::{ApplyOutcome, BookError, OrderBook, Side};

type Levels = Vec<(i64, u64)>;

fn book() -> OrderBook {
    OrderBook::new("BTCUSDT", "0.10", "0.001", 50, None).unwrap()
}

fn sides(book: &OrderBook) -> (Levels, Levels) {
    (
        book.side(Side::Bid).iter().collect(),
        book.side(Side::Ask).iter().collect(),
    )
}

fn seeded() -> OrderBook {
    let mut book = book();
    let outcome = book
        .apply_snapshot(&[(100, 5), (99, 3), (97, 1)], &[(101, 2), (103, 4)], 10)
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Reset { update_id: 10 });
    book
}

#[test]
fn snapshot_then_deltas_insert_replace_and_delete() {
    let mut book = seeded();
    let outcome = book
        .apply_delta(&[(100, 0), (98, 7)], &[(101, 9)], 11)
        .unwrap();
    assert_eq!(outcome, ApplyOutcome::Applied { update_id: 11 });
    assert_eq!(
        sides(&book),
        (vec![(99, 3), (98, 7), (97, 1)], vec![(101, 9), (103, 4)])
    );
    assert_eq!(book.last_update_id(), Some(11));
}

#[test]
fn deleting_an_unknown_level_is_a_no_op() {
    let mut book = seeded();
    let before = sides(&book);
    book.apply_delta(&[(50, 0)], &[], 11).unwrap();
    assert_eq!(sides(&book), before);
}

#[test]
fn stale_and_gap_deltas_leave_the_book_untouched() {
    let mut book = seeded();
    let before = sides(&book);
    let stale = book.apply_delta(&[(100, 1)], &[], 10).unwrap();
    assert_eq!(
        stale,
        ApplyOutcome::Stale {
            last: 10,
            received: 10
        }
    );
    let gap = book.apply_delta(&[(100, 1)], &[], 12).unwrap();
    assert_eq!(
        gap,
        ApplyOutcome::Gap {
            expected: Some(11),
            received: 12
        }
    );
    assert_eq!(sides(&book), before);
    assert_eq!(book.last_update_id(), Some(10));
}

#[test]
fn a_delta_before_any_snapshot_is_a_gap() {
    let mut book = book();
    let outcome = book.apply_delta(&[(100, 1)], &[], 5).unwrap();
    assert_eq!(
        outcome,
        ApplyOutcome::Gap {
            expected: None,
            received: 5
        }
    );
    assert_eq!(book.side(Side::Bid).len(), 0);
}

#[test]
fn update_id_one_and_resent_snapshots_reset() {
    let mut book = seeded();
    let outcome = book.apply_delta(&[(90, 1)], &[(95, 1)], 1).unwrap();
    assert_eq!(outcome, ApplyOutcome::Reset { update_id: 1 });
    assert_eq!(sides(&book), (vec![(90, 1)], vec![(95, 1)]));
    let again = book.apply_snapshot(&[(90, 2)], &[(95, 1)], 1).unwrap();
    assert_eq!(again, ApplyOutcome::Reset { update_id: 1 });
    assert_eq!(book.best(Side::Bid), Some((90, 2)));
}

#[test]
fn a_crossing_delta_is_refused_and_rolled_back() {
    let mut book = seeded();
    let before = sides(&book);
    let error = book
        .apply_delta(&[(100, 0), (99, 0), (102, 1)], &[(103, 0)], 11)
        .unwrap_err();
    assert_eq!(
        error,
        BookError::Crossed {
            update_id: 11,
            bid: 102,
            ask: 101
        }
    );
    assert_eq!(sides(&book), before);
    assert_eq!(book.last_update_id(), Some(10));
    // The next in-sequence delta still applies.
    assert!(book.apply_delta(&[(100, 6)], &[], 11).is_ok());
}

#[test]
fn a_crossed_snapshot_is_refused() {
    let mut book = seeded();
    let before = sides(&book);
    assert!(matches!(
        book.apply_snapshot(&[(105, 1)], &[(105, 1)], 20),
        Err(BookError::Crossed { .. })
    ));
    assert_eq!(sides(&book), before);
    assert_eq!(book.last_update_id(), Some(10));
}

#[test]
fn invalid_levels_are_refused_before_any_change() {
    let mut book = seeded();
    let before = sides(&book);
    assert_eq!(
        book.apply_delta(&[(98, 1), (0, 1)], &[], 11),
        Err(BookError::NonPositivePrice { ticks: 0 })
    );
    assert_eq!(
        book.apply_delta(&[(98, 1)], &[(104, -2)], 11),
        Err(BookError::NegativeSize {
            ticks: 104,
            lots: -2
        })
    );
    assert_eq!(sides(&book), before);
}

#[test]
fn depth_limit_trims_after_each_apply() {
    let mut book = OrderBook::new("BTCUSDT", "0.1", "1", 50, Some(2)).unwrap();
    book.apply_snapshot(&[(10, 1), (9, 1), (8, 1)], &[(11, 1), (12, 1), (13, 1)], 1)
        .unwrap();
    assert_eq!(
        sides(&book),
        (vec![(10, 1), (9, 1)], vec![(11, 1), (12, 1)])
    );
    book.apply_delta(&[(10, 0)], &[(10, 0)], 2).unwrap();
    assert_eq!(book.side(Side::Bid).len(), 1);
}

#[test]
fn touch_queries() {
    let book = seeded();
    assert_eq!(book.best(Side::Bid), Some((100, 5)));
    assert_eq!(book.best(Side::Ask), Some((101, 2)));
    assert_eq!(book.spread_ticks(), Some(1));
    assert_eq!(book.mid_ticks(), Some(100.5));
    let micro = book.microprice().unwrap();
    assert!((micro - (100.0 * 2.0 + 101.0 * 5.0) / 7.0).abs() < 1e-12);
    assert!((book.spread_bps().unwrap() - 1.0 / 100.5 * 10_000.0).abs() < 1e-9);
    assert_eq!(book.imbalance(1), Some((5.0 - 2.0) / 7.0));
    assert_eq!(book.imbalance(10), Some((9.0 - 6.0) / 15.0));
    assert_eq!(
        OrderBook::new("X", "1", "1", 1, None).unwrap().mid_ticks(),
        None
    );
}

#[test]
fn vwap_by_quantity_and_notional() {
    let book = seeded();
    assert_eq!(book.vwap_quantity(Side::Bid, 5), Some(100.0));
    assert_eq!(
        book.vwap_quantity(Side::Bid, 7),
        Some((500.0 + 198.0) / 7.0)
    );
    assert_eq!(book.vwap_quantity(Side::Bid, 10), None);
    assert_eq!(book.vwap_quantity(Side::Ask, 0), None);
    assert_eq!(book.vwap_notional(Side::Ask, 202), Some(101.0));
    // 202 at 101 (2 lots), then 103 ticks of notional buys one lot at 103.
    let vwap = book.vwap_notional(Side::Ask, 305).unwrap();
    assert!((vwap - 305.0 / 3.0).abs() < 1e-12);
    assert_eq!(book.vwap_notional(Side::Ask, 10_000), None);
}

#[test]
fn depth_within_bps_counts_levels_near_mid() {
    let book = seeded();
    // mid 100.5; 100 bps = 1.005 ticks: bids >= 99.495, asks <= 101.505
    assert_eq!(book.depth_within_bps(Side::Bid, 100.0), Ok(Some((5, 500))));
    assert_eq!(book.depth_within_bps(Side::Ask, 100.0), Ok(Some((2, 202))));
    assert_eq!(
        book.depth_within_bps(Side::Bid, 1_000.0),
        Ok(Some((9, 500 + 297 + 97)))
    );
    assert!(book.depth_within_bps(Side::Bid, f64::NAN).is_err());
    assert!(book.depth_within_bps(Side::Bid, -1.0).is_err());
}

#[test]
fn top_levels_and_fingerprints() {
    let book = seeded();
    let top = book.top_levels(2);
    assert_eq!(top.bid_prices, [100, 99]);
    assert_eq!(top.bid_sizes, [5, 3]);
    assert_eq!(top.ask_prices, [101, 103]);
    assert_eq!(top.ask_sizes, [2, 4]);
    let mut other = seeded();
    assert_eq!(book.fingerprint(10), other.fingerprint(10));
    other.apply_delta(&[(97, 2)], &[], 11).unwrap();
    assert_eq!(book.fingerprint(2), other.fingerprint(2));
    assert_ne!(book.fingerprint(3), other.fingerprint(3));
}

#[test]
fn bad_increments_are_refused() {
    assert!(OrderBook::new("X", "0", "1", 1, None).is_err());
    assert!(OrderBook::new("X", "0.1", "-1", 1, None).is_err());
    assert!(OrderBook::new("X", "NaN", "1", 1, None).is_err());
    assert_eq!(
        OrderBook::new("X", "1", "1", 1, Some(0)).unwrap_err(),
        BookError::InvalidDepthLimit { received: 0 }
    );
}

/// Eight bids and one ask at the top of the i64 price range, each of i64::MAX lots: every
/// level's notional fits in u128 (under 2^127) but their sum does not.
fn absurd() -> OrderBook {
    let mut book = book();
    let bids: Vec<(i64, i64)> = (1..=8).map(|below| (i64::MAX - below, i64::MAX)).collect();
    book.apply_snapshot(&bids, &[(i64::MAX, i64::MAX)], 1)
        .unwrap();
    book
}

#[test]
fn depth_within_bps_saturates_instead_of_wrapping_at_absurd_sizes() {
    let book = absurd();
    assert_eq!(
        book.depth_within_bps(Side::Bid, 10_000.0),
        Ok(Some((u64::MAX, u128::MAX)))
    );
    assert_eq!(
        book.depth_within_bps(Side::Ask, 10_000.0),
        Ok(Some((i64::MAX as u64, i64::MAX as u128 * i64::MAX as u128)))
    );
}

#[test]
fn vwap_by_notional_walks_absurd_levels_without_overflow() {
    let book = absurd();
    let vwap = book.vwap_notional(Side::Bid, u128::MAX).unwrap();
    let (best, worst) = ((i64::MAX - 1) as f64, (i64::MAX - 8) as f64);
    assert!(vwap <= best && vwap >= worst, "{vwap}");
    let lots = book.vwap_quantity(Side::Bid, u64::MAX).unwrap();
    assert!(lots <= best && lots >= worst, "{lots}");
}

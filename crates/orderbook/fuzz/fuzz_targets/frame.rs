//! Fuzz the raw-frame parser: any bytes must give Ok or a BookError, never a panic, and a
//! refused frame must leave the book exactly as it was.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mm_orderbook::OrderBook;

fuzz_target!(|data: &[u8]| {
    let Ok(mut book) = OrderBook::new("BTCUSDT", "0.10", "0.001", Some(50)) else {
        return;
    };
    let seeded = book.apply_snapshot(&[(600_000, 5)], &[(600_001, 7)], 10);
    assert!(seeded.is_ok());
    let before = book.fingerprint(usize::MAX);
    let last = book.last_update_id();
    if book.apply_frame(data).is_err() {
        assert_eq!(book.fingerprint(usize::MAX), before);
        assert_eq!(book.last_update_id(), last);
    }
    if let (Some((bid, _)), Some((ask, _))) = (
        book.best(mm_orderbook::Side::Bid),
        book.best(mm_orderbook::Side::Ask),
    ) {
        assert!(bid < ask);
    }
});

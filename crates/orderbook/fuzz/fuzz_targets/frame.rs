//! Fuzz the raw-frame parser: any bytes must give Ok or a BookError, never a panic, a refused
//! frame must leave the book exactly as it was, and a frame that changed the book must name the
//! book's own topic and carry both sides.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mm_orderbook::{ApplyOutcome, OrderBook};

fuzz_target!(|data: &[u8]| {
    let Ok(mut book) = OrderBook::new("BTCUSDT", "0.10", "0.001", 50, None) else {
        return;
    };
    let seeded = book.apply_snapshot(&[(600_000, 5)], &[(600_001, 7)], 10);
    assert!(seeded.is_ok());
    let before = book.fingerprint(usize::MAX);
    let last = book.last_update_id();
    match book.apply_frame(data) {
        Err(_) => {
            assert_eq!(book.fingerprint(usize::MAX), before);
            assert_eq!(book.last_update_id(), last);
        }
        Ok(ApplyOutcome::Applied { .. } | ApplyOutcome::Reset { .. }) => {
            for needle in [&b"\"orderbook.50.BTCUSDT\""[..], b"\"b\"", b"\"a\""] {
                assert!(data.windows(needle.len()).any(|window| window == needle));
            }
        }
        Ok(_) => {}
    }
    if let (Some((bid, _)), Some((ask, _))) = (
        book.best(mm_orderbook::Side::Bid),
        book.best(mm_orderbook::Side::Ask),
    ) {
        assert!(bid < ask);
    }
});

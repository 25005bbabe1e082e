//! The real XRPUSDT orderbook.500 recording (Bybit archive) through the Rust API alone.

use mm_orderbook::{ApplyOutcome, OrderBook, Side};

const XRP: &str = include_str!("data/2024-12-01_XRPUSDT_ob500.jsonl");

#[test]
fn the_xrp_recording_applies_in_sequence_and_ends_with_500_levels() {
    let mut book = OrderBook::new("XRPUSDT", "0.0001", "1", 500, None).unwrap();
    let mut outcomes = Vec::new();
    for line in XRP.lines() {
        outcomes.push(book.apply_frame(line.as_bytes()).unwrap());
        let (bid, ask) = (book.best(Side::Bid).unwrap(), book.best(Side::Ask).unwrap());
        assert!(bid.0 < ask.0, "crossed at {:?}", book.last_update_id());
    }
    assert_eq!(outcomes.len(), 50);
    assert_eq!(
        outcomes[0],
        ApplyOutcome::Reset {
            update_id: 20254869
        }
    );
    for (offset, outcome) in outcomes.iter().enumerate().skip(1) {
        let update_id = 20254869 + offset as u64;
        assert_eq!(*outcome, ApplyOutcome::Applied { update_id });
    }
    assert_eq!(book.side(Side::Bid).len(), 500);
    assert_eq!(book.side(Side::Ask).len(), 500);
    assert_eq!(book.best(Side::Bid), Some((19537, 10605)));
    assert_eq!(book.best(Side::Ask), Some((19538, 6702)));
}

#[test]
fn replaying_a_frame_is_stale_and_skipping_one_is_a_gap() {
    let lines: Vec<&str> = XRP.lines().collect();
    let mut book = OrderBook::new("XRPUSDT", "0.0001", "1", 500, Some(50)).unwrap();
    for line in &lines[..3] {
        book.apply_frame(line.as_bytes()).unwrap();
    }
    let before = book.fingerprint(50);
    assert!(matches!(
        book.apply_frame(lines[1].as_bytes()),
        Ok(ApplyOutcome::Stale { .. })
    ));
    assert!(matches!(
        book.apply_frame(lines[4].as_bytes()),
        Ok(ApplyOutcome::Gap { .. })
    ));
    assert_eq!(book.fingerprint(50), before);
    assert_eq!(book.side(Side::Bid).len(), 50);
}

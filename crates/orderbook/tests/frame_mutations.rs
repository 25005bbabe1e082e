//! Bounded fuzzing that always runs under `cargo test`: valid frames with random byte
//! mutations must give Ok or an error, never a panic, and a refused frame changes nothing.
//! (The libFuzzer target in fuzz/ explores further when cargo-fuzz is available.)

use mm_orderbook::{OrderBook, Side};
use proptest::prelude::*;

const FRAMES: [&str; 3] = [
    r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1700000000123,"data":{"s":"BTCUSDT","b":[["60000.10","1.250"],["59999.90","0.400"]],"a":[["60000.20","0.900"],["60000.50","2.000"]],"u":18521288,"seq":7961638724},"cts":1700000000120}"#,
    r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1700000000143,"data":{"s":"BTCUSDT","b":[["60000.10","0"],["60000.00","0.300"]],"a":[["60000.20","1.5"]],"u":11,"seq":7961638731},"cts":1700000000141}"#,
    r#"{"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["59999.90","1"]],"a":[],"u":11,"seq":null},"x":[{"y":[true,false,null,-1.5e-3]}]}"#,
];

/// One edit: overwrite, insert or delete a byte at a position (taken modulo the length).
#[derive(Debug, Clone)]
enum Edit {
    Overwrite(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b'['),
        Just(b']'),
        Just(b'{'),
        Just(b'}'),
        Just(b':'),
        Just(b'.'),
        Just(b'-'),
        Just(b'0'),
        Just(b'9'),
        Just(b'\\'),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Overwrite(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn mutate(frame: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = frame.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Overwrite(at, byte) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = byte;
                }
            }
            Edit::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
            Edit::Delete(at) => {
                if !bytes.is_empty() {
                    bytes.remove(at % len);
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn mutated_frames_never_panic_or_half_apply(which in 0usize..3, edits in prop::collection::vec(edit(), 1..4)) {
        let mut book = OrderBook::new("BTCUSDT", "0.10", "0.001", Some(50)).unwrap();
        book.apply_snapshot(&[(600_000, 5)], &[(600_001, 7)], 10).unwrap();
        let before = book.fingerprint(usize::MAX);
        let frame = mutate(FRAMES[which], &edits);
        if book.apply_frame(&frame).is_err() {
            prop_assert_eq!(book.fingerprint(usize::MAX), before);
            prop_assert_eq!(book.last_update_id(), Some(10));
        }
        if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Bid), book.best(Side::Ask)) {
            prop_assert!(bid < ask);
        }
    }
}

//! Bounded fuzzing that always runs under `cargo test`: valid frames with a side removed, another
//! depth in the topic and random byte mutations must give Ok or an error, never a panic, and a
//! refused frame changes nothing. (The libFuzzer target in fuzz/ explores further when
//! cargo-fuzz is available.)

use mm_orderbook::{OrderBook, Side};
use proptest::prelude::*;

const FRAMES: [&str; 3] = [
    r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1700000000123,"data":{"s":"BTCUSDT","b":[["60000.10","1.250"],["59999.90","0.400"]],"a":[["60000.20","0.900"],["60000.50","2.000"]],"u":18521288,"seq":7961638724},"cts":1700000000120}"#,
    r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1700000000143,"data":{"s":"BTCUSDT","b":[["60000.10","0"],["60000.00","0.300"]],"a":[["60000.20","1.5"]],"u":11,"seq":7961638731},"cts":1700000000141}"#,
    r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["59999.90","1"]],"a":[],"u":11,"seq":null},"x":[{"y":[true,false,null,-1.5e-3]}]}"#,
];

/// A change of structure Bybit never makes; every one must be refused by a depth-50 book.
#[derive(Debug, Clone, Copy)]
enum Shape {
    AsSent,
    WithoutBids,
    WithoutAsks,
    Depth(u32),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => Just(Shape::AsSent),
        1 => Just(Shape::WithoutBids),
        1 => Just(Shape::WithoutAsks),
        1 => prop_oneof![Just(1u32), Just(5), Just(200), Just(500), Just(1000)].prop_map(Shape::Depth),
    ]
}

/// `frame` without the member `"key":[...]` (and its comma).
fn without(frame: &str, key: &str) -> String {
    let start = frame.find(&format!("\"{key}\":[")).unwrap();
    let mut depth = 0;
    let mut end = start;
    for (offset, byte) in frame[start..].bytes().enumerate() {
        match byte {
            b'[' => depth += 1,
            b']' if depth == 1 => {
                end = start + offset + 1;
                break;
            }
            b']' => depth -= 1,
            _ => {}
        }
    }
    let end = if frame[end..].starts_with(',') {
        end + 1
    } else {
        end
    };
    format!("{}{}", &frame[..start], &frame[end..])
}

fn reshape(frame: &str, shape: Shape) -> String {
    match shape {
        Shape::AsSent => frame.to_owned(),
        Shape::WithoutBids => without(frame, "b"),
        Shape::WithoutAsks => without(frame, "a"),
        Shape::Depth(depth) => frame.replace("orderbook.50.", &format!("orderbook.{depth}.")),
    }
}

fn seeded_book() -> OrderBook {
    let mut book = OrderBook::new("BTCUSDT", "0.10", "0.001", 50, None).unwrap();
    book.apply_snapshot(&[(600_000, 5)], &[(600_001, 7)], 10)
        .unwrap();
    book
}

#[test]
fn every_frame_is_refused_without_a_side_or_at_another_depth() {
    for frame in FRAMES {
        assert!(
            seeded_book().apply_frame(frame.as_bytes()).is_ok(),
            "{frame}"
        );
        for shape in [
            Shape::WithoutBids,
            Shape::WithoutAsks,
            Shape::Depth(1),
            Shape::Depth(200),
        ] {
            let mut book = seeded_book();
            let before = book.fingerprint(usize::MAX);
            let reshaped = reshape(frame, shape);
            assert_ne!(reshaped, frame);
            assert!(book.apply_frame(reshaped.as_bytes()).is_err(), "{reshaped}");
            assert_eq!(book.fingerprint(usize::MAX), before);
            assert_eq!(book.last_update_id(), Some(10));
        }
    }
}

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
    fn mutated_frames_never_panic_or_half_apply(which in 0usize..3, shape in shape(), edits in prop::collection::vec(edit(), 0..4)) {
        let mut book = seeded_book();
        let before = book.fingerprint(usize::MAX);
        let frame = mutate(&reshape(FRAMES[which], shape), &edits);
        let result = book.apply_frame(&frame);
        if edits.is_empty() {
            prop_assert_eq!(result.is_ok(), matches!(shape, Shape::AsSent));
        }
        if result.is_err() {
            prop_assert_eq!(book.fingerprint(usize::MAX), before);
            prop_assert_eq!(book.last_update_id(), Some(10));
        }
        if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Bid), book.best(Side::Ask)) {
            prop_assert!(bid < ask);
        }
    }
}

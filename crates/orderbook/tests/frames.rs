//! Raw Bybit v5 orderbook frames: parsing, validation and sequencing through `apply_frame`.

use mm_orderbook::{ApplyOutcome, BookError, OrderBook, Side};

const SNAPSHOT: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1700000000123,
 "data":{"s":"BTCUSDT","b":[["60000.10","1.250"],["59999.90","0.400"]],
         "a":[["60000.20","0.900"],["60000.50","2.000"]],"u":18521288,"seq":7961638724},
 "cts":1700000000120}"#;

const DELTA: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1700000000143,
 "data":{"s":"BTCUSDT","b":[["60000.10","0"],["60000.00","0.300"]],"a":[],"u":18521289,"seq":7961638731},
 "cts":1700000000141}"#;

fn book() -> OrderBook {
    OrderBook::new("BTCUSDT", "0.10", "0.001", 50, None).unwrap()
}

fn levels(book: &OrderBook, side: Side) -> Vec<(i64, u64)> {
    book.side(side).iter().collect()
}

fn delta(u: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{{"s":"BTCUSDT","b":[{bids}],"a":[{asks}],"u":{u},"seq":1}},"cts":1}}"#
    )
}

#[test]
fn the_documented_snapshot_and_delta_apply() {
    let mut book = book();
    let reset = book.apply_frame(SNAPSHOT.as_bytes()).unwrap();
    assert_eq!(
        reset,
        ApplyOutcome::Reset {
            update_id: 18521288
        }
    );
    assert_eq!(levels(&book, Side::Bid), [(600001, 1250), (599999, 400)]);
    assert_eq!(levels(&book, Side::Ask), [(600002, 900), (600005, 2000)]);
    let times = book.times();
    assert_eq!(
        (times.ts_ms, times.cts_ms, times.seq),
        (Some(1700000000123), Some(1700000000120), Some(7961638724))
    );
    let applied = book.apply_frame(DELTA.as_bytes()).unwrap();
    assert_eq!(
        applied,
        ApplyOutcome::Applied {
            update_id: 18521289
        }
    );
    assert_eq!(levels(&book, Side::Bid), [(600000, 300), (599999, 400)]);
    assert_eq!(book.times().cts_ms, Some(1700000000141));
}

#[test]
fn stale_frames_are_ignored_and_keep_the_old_times() {
    let mut book = book();
    book.apply_frame(SNAPSHOT.as_bytes()).unwrap();
    let stale = book.apply_frame(delta(18521288, r#"["1.0","1"]"#, "").as_bytes());
    assert_eq!(
        stale,
        Ok(ApplyOutcome::Stale {
            last: 18521288,
            received: 18521288
        })
    );
    assert_eq!(book.times().ts_ms, Some(1700000000123));
    let gap = book.apply_frame(delta(18521290, "", "").as_bytes());
    assert_eq!(
        gap,
        Ok(ApplyOutcome::Gap {
            expected: Some(18521289),
            received: 18521290
        })
    );
}

fn refused(frame: &str) -> BookError {
    let mut book = book();
    book.apply_frame(SNAPSHOT.as_bytes()).unwrap();
    let before = (levels(&book, Side::Bid), levels(&book, Side::Ask));
    let error = book.apply_frame(frame.as_bytes()).unwrap_err();
    assert_eq!(
        (levels(&book, Side::Bid), levels(&book, Side::Ask)),
        before,
        "{frame}"
    );
    assert_eq!(book.last_update_id(), Some(18521288));
    error
}

#[test]
fn malformed_frames_are_refused_atomically() {
    let next = 18521289;
    let cases = [
        (String::from("{\"topic\":"), "invalid JSON"),
        (String::from("not json"), "invalid JSON"),
        (String::from("[]"), "invalid JSON"),
        (String::new(), "invalid JSON"),
        (
            delta(next, r#"["60000.00","1"]"#, "").replace("\"u\"", "\"x\""),
            "invalid JSON",
        ),
        (delta(next, r#"["60000.00"]"#, ""), "invalid JSON"),
        (delta(next, r#"[60000.00,"1"]"#, ""), "invalid JSON"),
        (
            delta(next, r#"["60000.00","1"]"#, "")
                .replace("orderbook.50.BTCUSDT", "orderbook.50.ETHUSDT"),
            "wrong topic",
        ),
        (
            delta(next, "", "").replace("orderbook.50.", "publicTrade."),
            "wrong topic",
        ),
        (
            delta(next, "", "").replace("\"s\":\"BTCUSDT\"", "\"s\":\"ETHUSDT\""),
            "wrong symbol",
        ),
        (
            delta(next, "", "").replace("\"delta\"", "\"update\""),
            "unknown frame type",
        ),
        (
            delta(next, r#"["60000.00","1"],["NaN","1"]"#, ""),
            "invalid decimal",
        ),
        (delta(next, r#"["inf","1"]"#, ""), "invalid decimal"),
        (delta(next, r#"["60000.00","1e3"]"#, ""), "invalid decimal"),
        (delta(next, r#"["60000.00","-1"]"#, ""), "negative value"),
        (delta(next, r#"["60000.05","1"]"#, ""), "off the grid"),
        (delta(next, r#"["60000.00","0.0001"]"#, ""), "off the grid"),
        (delta(next, r#"["0","1"]"#, ""), "expected a positive price"),
        (delta(next, r#"["60000.30","1"]"#, ""), "crossed book"),
        (delta(next, "", r#"["60000.10","1"]"#), "crossed book"),
        (
            delta(next, "", "").replace(r#""a":[],"#, ""),
            "no \"a\" levels",
        ),
        (
            delta(next, "", "").replace(r#""b":[],"#, ""),
            "no \"b\" levels",
        ),
        (
            delta(next, "", "").replace("orderbook.50.", "orderbook.1."),
            "wrong depth",
        ),
    ];
    for (frame, message) in cases {
        let error = refused(&frame);
        assert!(error.to_string().contains(message), "{frame}: {error}");
    }
}

#[test]
fn error_messages_carry_the_offending_values() {
    let error = refused(&delta(18521289, r#"["60000.05","1"]"#, ""));
    assert_eq!(
        error.to_string(),
        "price \"60000.05\" is off the grid: expected a multiple of 0.10"
    );
    let error = refused(&delta(18521289, "", "").replace("\"s\":\"BTCUSDT\"", "\"s\":\"ETH\""));
    assert_eq!(
        error.to_string(),
        "wrong symbol: expected \"BTCUSDT\", received \"ETH\""
    );
}

#[test]
fn unknown_fields_and_any_key_order_are_accepted() {
    let frame = r#"{"ts":5,"extra":{"nested":[1,2,{"x":null}]},"data":{"seq":3,"u":7,"a":[["60000.20","1"]],"b":[],"s":"BTCUSDT","more":true},"type":"snapshot","topic":"orderbook.1.BTCUSDT"}"#;
    let mut book = OrderBook::new("BTCUSDT", "0.10", "0.001", 1, None).unwrap();
    assert_eq!(
        book.apply_frame(frame.as_bytes()),
        Ok(ApplyOutcome::Reset { update_id: 7 })
    );
    assert_eq!(book.times().cts_ms, None);
    assert_eq!(levels(&book, Side::Ask), [(600002, 1000)]);
}

/// The documented snapshot with one member of `data` removed.
fn snapshot_without(member: &str) -> String {
    let start = SNAPSHOT.find(member).unwrap();
    let end = start + SNAPSHOT[start..].find("]]").unwrap() + 2;
    let rest = SNAPSHOT[end..].trim_start_matches([',', '\n', ' ']);
    format!("{}{rest}", &SNAPSHOT[..start])
}

#[test]
fn a_frame_without_bids_or_asks_is_refused_with_the_missing_key() {
    let without_asks = snapshot_without(r#""a":"#);
    assert!(!without_asks.contains(r#""a":"#) && without_asks.contains(r#""u":18521288"#));
    assert_eq!(
        refused(&without_asks.replace("18521288", "18521289")),
        BookError::MissingSide {
            key: "a",
            update_id: 18521289
        }
    );
    let without_bids = snapshot_without(r#""b":"#);
    assert_eq!(
        refused(&without_bids.replace("18521288", "18521289")),
        BookError::MissingSide {
            key: "b",
            update_id: 18521289
        }
    );
    assert_eq!(
        refused(&delta(18521289, r#"["60000.00","1"]"#, "").replace(r#""a":[],"#, "")),
        BookError::MissingSide {
            key: "a",
            update_id: 18521289
        }
    );
    let error = refused(&without_asks);
    assert_eq!(
        error.to_string(),
        "frame 18521288 has no \"a\" levels: expected both \"b\" and \"a\" in every orderbook \
         frame ([] for an empty side)"
    );
}

#[test]
fn a_snapshot_of_another_depth_is_refused_and_the_book_keeps_its_levels() {
    let one_level = r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["60000.00","1"]],"a":[["60000.30","1"]],"u":900,"seq":1},"cts":1}"#;
    assert_eq!(
        refused(one_level),
        BookError::WrongDepth {
            expected: 50,
            received: "1".to_owned(),
            topic: "orderbook.1.BTCUSDT".to_owned()
        }
    );
    for topic in ["orderbook.500.BTCUSDT", "orderbook.full.BTCUSDT"] {
        let error = refused(&one_level.replace("orderbook.1.BTCUSDT", topic));
        assert!(
            matches!(error, BookError::WrongDepth { .. }),
            "{topic}: {error}"
        );
    }
    for topic in [
        "orderbook..BTCUSDT",
        "orderbook.50.BTCUSDTX",
        "orderbook.50",
    ] {
        let error = refused(&one_level.replace("orderbook.1.BTCUSDT", topic));
        assert_eq!(
            error,
            BookError::WrongTopic {
                expected: "orderbook.50.BTCUSDT".to_owned(),
                received: topic.to_owned()
            }
        );
    }
    let mut depth_one = OrderBook::new("BTCUSDT", "0.10", "0.001", 1, None).unwrap();
    assert_eq!(depth_one.topic(), "orderbook.1.BTCUSDT");
    assert_eq!(
        depth_one.apply_frame(one_level.as_bytes()),
        Ok(ApplyOutcome::Reset { update_id: 900 })
    );
    assert!(matches!(
        depth_one.apply_frame(SNAPSHOT.as_bytes()),
        Err(BookError::WrongDepth { expected: 1, .. })
    ));
    assert_eq!(levels(&depth_one, Side::Bid), [(600000, 1000)]);
}

#[test]
fn a_book_needs_a_positive_depth_and_trims_to_it_by_default() {
    assert_eq!(
        OrderBook::new("BTCUSDT", "0.10", "0.001", 0, None).unwrap_err(),
        BookError::InvalidDepth { received: 0 }
    );
    let mut book = OrderBook::new("BTCUSDT", "0.10", "0.001", 1, None).unwrap();
    assert_eq!((book.depth(), book.depth_limit()), (1, 1));
    book.apply_frame(SNAPSHOT.replace("orderbook.50.", "orderbook.1.").as_bytes())
        .unwrap();
    assert_eq!(levels(&book, Side::Bid), [(600001, 1250)]);
    assert_eq!(levels(&book, Side::Ask), [(600002, 900)]);
}

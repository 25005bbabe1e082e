//! Property tests: random valid and invalid update sequences, through the level-list API and as
//! raw JSON frames (some without a side or of another depth), must match a simple BTreeMap
//! reference model after every step.

use std::collections::BTreeMap;

use mm_orderbook::{ApplyOutcome, OrderBook, Side};
use proptest::prelude::*;

/// How an update's id relates to the last applied one.
#[derive(Debug, Clone, Copy)]
enum Sequence {
    Next,
    Repeat,
    Older,
    Skip,
    Restart,
}

#[derive(Debug, Clone)]
struct Update {
    snapshot: bool,
    sequence: Sequence,
    bids: Vec<(i64, i64)>,
    asks: Vec<(i64, i64)>,
}

/// The reference: two ordered maps and the last update id.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    bids: BTreeMap<i64, u64>,
    asks: BTreeMap<i64, u64>,
    last: Option<u64>,
}

impl Model {
    fn resolve(&self, sequence: Sequence) -> u64 {
        let last = self.last.unwrap_or(100);
        match sequence {
            Sequence::Next => last + 1,
            Sequence::Repeat => last,
            Sequence::Older => last.saturating_sub(3).max(2),
            Sequence::Skip => last + 3,
            Sequence::Restart => 1,
        }
    }

    /// Apply like the book should; Err(()) where the book must refuse and stay unchanged.
    fn apply(&mut self, update: &Update, u: u64, depth: usize) -> Result<ApplyOutcome, ()> {
        let valid = |levels: &[(i64, i64)]| levels.iter().all(|&(p, s)| p > 0 && s >= 0);
        if !valid(&update.bids) || !valid(&update.asks) {
            return Err(());
        }
        let reset = update.snapshot || u == 1;
        let mut next = self.clone();
        let outcome = if reset {
            next.bids.clear();
            next.asks.clear();
            ApplyOutcome::Reset { update_id: u }
        } else {
            match self.last {
                None => {
                    return Ok(ApplyOutcome::Gap {
                        expected: None,
                        received: u,
                    })
                }
                Some(last) if u <= last => return Ok(ApplyOutcome::Stale { last, received: u }),
                Some(last) if u != last + 1 => {
                    return Ok(ApplyOutcome::Gap {
                        expected: Some(last + 1),
                        received: u,
                    })
                }
                Some(_) => ApplyOutcome::Applied { update_id: u },
            }
        };
        for (map, levels) in [
            (&mut next.bids, &update.bids),
            (&mut next.asks, &update.asks),
        ] {
            for &(price, size) in levels {
                if size == 0 {
                    map.remove(&price);
                } else {
                    map.insert(price, size as u64);
                }
            }
        }
        if let (Some((bid, _)), Some((ask, _))) =
            (next.bids.last_key_value(), next.asks.first_key_value())
        {
            if bid >= ask {
                return Err(());
            }
        }
        while next.bids.len() > depth {
            next.bids.pop_first();
        }
        while next.asks.len() > depth {
            next.asks.pop_last();
        }
        next.last = Some(u);
        *self = next;
        Ok(outcome)
    }
}

fn sequence() -> impl Strategy<Value = Sequence> {
    prop_oneof![
        6 => Just(Sequence::Next),
        1 => Just(Sequence::Repeat),
        1 => Just(Sequence::Older),
        1 => Just(Sequence::Skip),
        1 => Just(Sequence::Restart),
    ]
}

/// Mostly valid levels around 50; sometimes a zero or negative price or a negative size.
fn level() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        30 => (30i64..70, 0i64..4),
        1 => (-2i64..1, 1i64..3),
        1 => (30i64..70, -3i64..0),
    ]
}

fn update() -> impl Strategy<Value = Update> {
    (
        prop::bool::weighted(0.15),
        sequence(),
        prop::collection::vec(level(), 0..8),
        prop::collection::vec(level(), 0..8),
    )
        .prop_map(|(snapshot, sequence, bids, asks)| Update {
            snapshot,
            sequence,
            bids,
            asks,
        })
}

fn check_invariants(book: &OrderBook, model: &Model) {
    let bids: Vec<(i64, u64)> = book.side(Side::Bid).iter().collect();
    let asks: Vec<(i64, u64)> = book.side(Side::Ask).iter().collect();
    assert!(
        bids.windows(2).all(|pair| pair[0].0 > pair[1].0),
        "bids sorted: {bids:?}"
    );
    assert!(
        asks.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "asks sorted: {asks:?}"
    );
    assert!(
        bids.iter().chain(&asks).all(|&(_, size)| size > 0),
        "no zero sizes"
    );
    if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
        assert!(bid.0 < ask.0, "crossed: {bid:?} {ask:?}");
    }
    let model_bids: Vec<(i64, u64)> = model.bids.iter().rev().map(|(&p, &s)| (p, s)).collect();
    let model_asks: Vec<(i64, u64)> = model.asks.iter().map(|(&p, &s)| (p, s)).collect();
    assert_eq!((bids, asks), (model_bids, model_asks));
    assert_eq!(book.last_update_id(), model.last);
}

/// Bybit text for a level with tick 0.5 and lot 0.01; invalid sizes and prices become bad text.
fn level_text(&(price, size): &(i64, i64)) -> String {
    let price = if price > 0 {
        format!("{}.{}", price / 2, (price % 2) * 5)
    } else {
        format!("{}", price)
    };
    let size = if size >= 0 {
        format!("{}.{:02}", size / 100, size % 100)
    } else {
        "NaN".to_owned()
    };
    format!("[\"{price}\",\"{size}\"]")
}

/// How a raw frame departs from what Bybit sends for the book's topic (each must be refused).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flaw {
    None,
    NoBids,
    NoAsks,
    OtherDepth(u32),
}

fn flaw() -> impl Strategy<Value = Flaw> {
    prop_oneof![
        12 => Just(Flaw::None),
        1 => Just(Flaw::NoBids),
        1 => Just(Flaw::NoAsks),
        1 => prop_oneof![Just(1u32), Just(200), Just(500), Just(1000)].prop_map(Flaw::OtherDepth),
    ]
}

fn frame_text(update: &Update, u: u64, flaw: Flaw) -> String {
    let join = |levels: &[(i64, i64)]| levels.iter().map(level_text).collect::<Vec<_>>().join(",");
    let kind = if update.snapshot { "snapshot" } else { "delta" };
    let depth = match flaw {
        Flaw::OtherDepth(depth) => depth,
        _ => 50,
    };
    let bids = match flaw {
        Flaw::NoBids => String::new(),
        _ => format!(r#""b":[{}],"#, join(&update.bids)),
    };
    let asks = match flaw {
        Flaw::NoAsks => String::new(),
        _ => format!(r#""a":[{}],"#, join(&update.asks)),
    };
    format!(
        r#"{{"topic":"orderbook.{depth}.XYZ","type":"{kind}","ts":{u},"data":{{"s":"XYZ",{bids}{asks}"u":{u},"seq":{u}}},"cts":{u}}}"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn level_lists_match_the_model(updates in prop::collection::vec(update(), 1..60), depth in prop::option::of(1usize..6)) {
        let mut book = OrderBook::new("XYZ", "0.5", "0.01", 50, depth).unwrap();
        let mut model = Model::default();
        for update in &updates {
            let u = model.resolve(update.sequence);
            let expected = model.apply(update, u, depth.unwrap_or(50));
            let actual = if update.snapshot {
                book.apply_snapshot(&update.bids, &update.asks, u)
            } else {
                book.apply_delta(&update.bids, &update.asks, u)
            };
            prop_assert_eq!(actual.ok(), expected.ok());
            check_invariants(&book, &model);
        }
    }

    #[test]
    fn raw_frames_match_the_model(updates in prop::collection::vec((update(), flaw()), 1..60), depth in prop::option::of(1usize..6)) {
        let mut book = OrderBook::new("XYZ", "0.5", "0.01", 50, depth).unwrap();
        let mut model = Model::default();
        for (update, flaw) in &updates {
            let u = model.resolve(update.sequence);
            let expected = match flaw {
                Flaw::None => model.apply(update, u, depth.unwrap_or(50)),
                _ => Err(()),
            };
            let actual = book.apply_frame(frame_text(update, u, *flaw).as_bytes());
            prop_assert_eq!(actual.ok(), expected.ok());
            check_invariants(&book, &model);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_change_a_book(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut book = OrderBook::new("XYZ", "0.5", "0.01", 50, None).unwrap();
        book.apply_snapshot(&[(40, 1)], &[(60, 1)], 10).unwrap();
        let before = book.fingerprint(usize::MAX);
        if book.apply_frame(&bytes).is_err() {
            prop_assert_eq!(book.fingerprint(usize::MAX), before);
        }
    }
}

//! Replay a JSONL file of frames through the Rust API and print ns per frame (no Python).
//!
//! Usage: cargo run --release --example replay -- FILE SYMBOL DEPTH TICK LOT [PASSES]

use std::time::Instant;

use mm_orderbook::OrderBook;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, symbol, depth, tick, lot, rest @ ..] = args.as_slice() else {
        return Err("usage: replay FILE SYMBOL DEPTH TICK LOT [PASSES]".into());
    };
    let depth: u32 = depth.parse()?;
    let passes: usize = rest.first().map_or(Ok(1), |text| text.parse())?;
    let text = std::fs::read(file)?;
    let frames: Vec<&[u8]> = text
        .split(|&byte| byte == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut timings = Vec::with_capacity(frames.len() * passes);
    for _ in 0..passes {
        let mut book = OrderBook::new(symbol, tick, lot, depth, None)?;
        for frame in &frames {
            let start = Instant::now();
            book.apply_frame(frame)?;
            timings.push(start.elapsed().as_nanos());
        }
    }
    timings.sort_unstable();
    let total: u128 = timings.iter().sum();
    println!(
        "{} frames: mean {} ns, median {} ns, p99 {} ns",
        timings.len(),
        total / timings.len() as u128,
        timings[timings.len() / 2],
        timings[timings.len() * 99 / 100]
    );
    Ok(())
}

"""Benchmark of mm_orderbook raw-frame apply and top-N snapshot against a pure-Python book.

Streams: (a) the real XRPUSDT orderbook.500 recording replayed many times; (b) a synthetic
BTCUSDT orderbook.50 stream of 100,000+ frames. Each frame is timed on its own through the
Python API (perf_counter_ns around one call); the pure-Python baseline runs in the same process.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

import orjson
from python_orderbook import PythonOrderBook

import mm_orderbook

REPO = Path(__file__).resolve().parent.parent
XRP_FILE = REPO / "crates/orderbook/tests/data/2024-12-01_XRPUSDT_ob500.jsonl"
XRP_REPLAYS = 200
SYNTHETIC_FRAMES = 100_000
TOP_N = (10, 50)


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def time_frames(apply: Callable[[bytes], object], frames: Sequence[bytes]) -> list[int]:
    """Nanoseconds per call, one measurement per frame, in stream order."""
    clock = time.perf_counter_ns
    timings = [0] * len(frames)
    for index, frame in enumerate(frames):
        start = clock()
        apply(frame)
        timings[index] = clock() - start
    return timings


def timer_overhead() -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        start = clock()
        samples.append(clock() - start)
    return int(statistics.median(samples))


def replay(
    make_book: Callable[[], Callable[[bytes], object]], frames: Sequence[bytes], passes: int
) -> list[int]:
    timings: list[int] = []
    for _ in range(passes):
        timings += time_frames(make_book(), frames)
    return timings


def synthetic_stream(count: int, seed: int = 7) -> list[bytes]:
    """A BTCUSDT orderbook.50 snapshot then deltas (1-16 level changes each) that never cross."""
    rng = random.Random(seed)
    bids = {600_000 - i: rng.randint(1, 5_000) for i in range(50)}
    asks = {600_001 + i: rng.randint(1, 5_000) for i in range(50)}
    frames = [_frame("snapshot", 1_000, bids.items(), asks.items())]
    for update_id in range(1_001, 1_000 + count):
        changes: tuple[dict[int, int], dict[int, int]] = ({}, {})
        for _ in range(rng.randint(1, 16)):
            is_bid = rng.random() < 0.5
            _change_one(
                rng,
                bids if is_bid else asks,
                asks if is_bid else bids,
                is_bid,
                changes[0 if is_bid else 1],
            )
        for side, changed, is_bid in ((bids, changes[0], True), (asks, changes[1], False)):
            for price in sorted(side, reverse=not is_bid)[50:]:
                del side[price]
                changed[price] = 0
        frames.append(_frame("delta", update_id, changes[0].items(), changes[1].items()))
    return frames


def _change_one(
    rng: random.Random,
    side: dict[int, int],
    other: dict[int, int],
    is_bid: bool,
    changed: dict[int, int],
) -> None:
    ranked = sorted(side, reverse=is_bid)
    pick = ranked[min(len(ranked) - 1, int(rng.expovariate(1 / 8)))]
    action = rng.random()
    if action < 0.6:
        side[pick] = changed[pick] = rng.randint(1, 5_000)
    elif action < 0.8 and len(side) > 20:
        del side[pick]
        changed[pick] = 0
    else:
        best, opposite = ranked[0], min(other) if is_bid else max(other)
        step = 1 if is_bid else -1
        inside = best + step
        price = (
            inside
            if inside != opposite and rng.random() < 0.3
            else best - step * rng.randint(1, 70)
        )
        if price > 0:
            side[price] = changed[price] = rng.randint(1, 5_000)


Levels = Iterable[tuple[int, int]]


def _frame(kind: str, update_id: int, bids: Levels, asks: Levels) -> bytes:
    def text(levels: Levels) -> list[list[str]]:
        return [[f"{p // 10}.{p % 10}0", f"{s // 1000}.{s % 1000:03d}"] for p, s in levels]

    return orjson.dumps(
        {
            "topic": "orderbook.50.BTCUSDT",
            "type": kind,
            "ts": 1_700_000_000_000 + update_id,
            "data": {
                "s": "BTCUSDT",
                "b": text(bids),
                "a": text(asks),
                "u": update_id,
                "seq": 7_000_000_000 + update_id,
            },
            "cts": 1_700_000_000_000 + update_id,
        }
    )


Book = tuple[str, str, str, int]  # symbol, tick size, lot size, topic depth


def rust_book(
    symbol: str, tick: str, lot: str, depth: int
) -> Callable[[], Callable[[bytes], object]]:
    return lambda: mm_orderbook.OrderBook(symbol, tick, lot, depth=depth).apply_frame


def python_book(
    symbol: str, tick: str, lot: str, depth: int
) -> Callable[[], Callable[[bytes], object]]:
    return lambda: PythonOrderBook(symbol, tick, lot, depth).apply_frame


def check_same_result(frames: Sequence[bytes], book: Book) -> None:
    """Both books must end identical, or the comparison means nothing."""
    symbol, tick, lot, depth = book
    rust = mm_orderbook.OrderBook(symbol, tick, lot, depth=depth)
    python = PythonOrderBook(symbol, tick, lot, depth)
    for frame in frames:
        rust.apply_frame(frame)
        python.apply_frame(frame)
    if rust.top_levels(10_000) != python.top_levels(10_000):
        raise SystemExit(f"{symbol}: Rust and Python books differ after the stream")


def compare_stream(
    name: str, frames: Sequence[bytes], passes: int, book: Book, overhead: int
) -> None:
    check_same_result(frames, book)
    rows = []
    for label, factory in (("mm_orderbook", rust_book(*book)), ("pure Python", python_book(*book))):
        gc.collect()
        timings = sorted(replay(factory, frames, passes))
        rows.append((label, percentile(timings, 0.5), percentile(timings, 0.99), len(timings)))
    print(f"\n{name}: {len(frames)} frames x {passes} passes")
    print(f"  {'book':<14}{'median ns':>11}{'p99 ns':>11}{'frames':>10}")
    for label, median, p99, count in rows:
        print(f"  {label:<14}{median:>11,}{p99:>11,}{count:>10,}")
    (_, rust_median, rust_p99, _), (_, python_median, python_p99, _) = rows
    print(
        f"  ratio (Python / Rust): median {python_median / rust_median:.1f}x, "
        f"p99 {python_p99 / rust_p99:.1f}x; net of timer overhead: median "
        f"{(python_median - overhead) / (rust_median - overhead):.1f}x"
    )


def per_call_ns(call: Callable[[], object], repeats: int = 200_000) -> float:
    """Best of 20 batches of the mean time per call (the least disturbed by other load)."""
    batch = repeats // 20
    means = []
    for _ in range(20):
        start = time.perf_counter_ns()
        for _ in range(batch):
            call()
        means.append((time.perf_counter_ns() - start) / batch)
    return min(means)


def compare_top_levels(frames: Sequence[bytes], book: Book) -> None:
    symbol, tick, lot, depth = book
    rust = mm_orderbook.OrderBook(symbol, tick, lot, depth=depth)
    python = PythonOrderBook(symbol, tick, lot, depth)
    for frame in frames:
        rust.apply_frame(frame)
        python.apply_frame(frame)
    print("\ntop-N snapshot (4 lists: bid prices, bid sizes, ask prices, ask sizes)")
    print("  ns per call, best of 20 batches")
    print(f"  {'n':>4}{'mm_orderbook':>14}{'pure Python':>13}{'fingerprint':>13}")
    for n in TOP_N:
        rust_ns = per_call_ns(partial(rust.top_levels, n))
        python_ns = per_call_ns(partial(python.top_levels, n), repeats=40_000)
        print_ns = per_call_ns(partial(rust.fingerprint, n))
        print(f"  {n:>4}{rust_ns:>14,.0f}{python_ns:>13,.0f}{print_ns:>13,.0f}")


def main() -> None:
    overhead = timer_overhead()
    print(f"perf_counter_ns overhead per measurement (included in figures): {overhead} ns")
    xrp = XRP_FILE.read_bytes().splitlines()
    compare_stream(
        "(a) real XRPUSDT orderbook.500 (1 snapshot + 49 deltas)",
        xrp,
        XRP_REPLAYS,
        ("XRPUSDT", "0.0001", "1", 500),
        overhead,
    )
    synthetic = synthetic_stream(SYNTHETIC_FRAMES)
    btc = ("BTCUSDT", "0.10", "0.001", 50)
    compare_stream(
        "(b) synthetic BTCUSDT orderbook.50 (1 snapshot + deltas)", synthetic, 1, btc, overhead
    )
    compare_top_levels(synthetic[:1000], btc)


if __name__ == "__main__":
    main()

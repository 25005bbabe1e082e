"""Benchmark of the ledger's pure core: book tops and fills replayed through `ledger.Ledger`.

A synthetic BTCUSDT market (a random-walk mid, a resting bid and ask of ours, one fill per ten
tops, alternating sides, markouts at 1/10/60 s) is generated in chunks outside the timed region
and replayed chunk by chunk; the table shows tops/s and fills/s on one core. The issue's target:
>= 100,000 tops/s, so that the ledger never lags the gateway. `--tops`/`--fills` shrink the run.
"""

from __future__ import annotations

import argparse
import random
import time

from ledger import Ledger
from mm_proto import BookTop, Fill, OrderAccepted, Side
from mm_proto.examples import example_instrument

CHUNK = 100_000
STEP_NS = 10_000_000  # a top every 10 ms of venue time


def tops_chunk(first: int, count: int, mid: int, rng: random.Random) -> tuple[list[BookTop], int]:
    tops = []
    for index in range(first, first + count):
        mid += rng.choice((-1, 0, 0, 1))
        tops.append(
            BookTop(
                venue="bybit",
                category="linear",
                symbol="BTCUSDT",
                bid_price_ticks=mid,
                bid_size_lots=5,
                ask_price_ticks=mid + 1,
                ask_size_lots=5,
                update_id=index,
                ts_exchange_ns=index * STEP_NS,
                ts_gateway_ns=index * STEP_NS,
            )
        )
    return tops, mid


def fill_for(top: BookTop, number: int) -> Fill:
    side = Side.BUY if number % 2 else Side.SELL
    price = top.bid_price_ticks if side is Side.BUY else top.ask_price_ticks
    return Fill(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        fill_id=f"f{number}",
        client_order_id="mm-0-a-1",
        venue_order_id="v",
        side=side,
        price_ticks=price,
        size_lots=3,
        fee="-0.0097500",
        fee_currency="USDT",
        is_maker=True,
        ts_exchange_ns=top.ts_exchange_ns + 1,
        ts_received_ns=top.ts_exchange_ns + 1,
    )


def resting(client_id: str, side: Side, price: int) -> OrderAccepted:
    return OrderAccepted(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        client_order_id=client_id,
        venue_order_id=client_id,
        side=side,
        price_ticks=price,
        size_lots=10,
        ts_event_ns=1,
    )


def run(total_tops: int, total_fills: int) -> None:
    rng = random.Random(7)
    books = Ledger()
    books.add_instrument(example_instrument())
    books.on_order(resting("bid", Side.BUY, 649_990))
    books.on_order(resting("ask", Side.SELL, 650_010))
    every = max(1, total_tops // max(1, total_fills))
    top_seconds = fill_seconds = 0.0
    tops_done = fills_done = 0
    mid = 650_000
    clock = time.perf_counter
    while tops_done < total_tops:
        tops, mid = tops_chunk(tops_done, min(CHUNK, total_tops - tops_done), mid, rng)
        fills = [fill_for(top, tops_done + i) for i, top in enumerate(tops) if i % every == 0]
        fills = fills[: max(0, total_fills - fills_done)]
        start = clock()
        for top in tops:
            books.on_top(top)
        top_seconds += clock() - start
        start = clock()
        for fill in fills:
            books.on_fill(fill)
        fill_seconds += clock() - start
        tops_done += len(tops)
        fills_done += len(fills)
        if tops_done % (10 * CHUNK) == 0:
            books.flush(0, tops_done * STEP_NS)  # a window a while, as the service does
    print(f"{'input':<8} {'count':>12} {'seconds':>9} {'per second':>12}")
    print(f"{'tops':<8} {tops_done:>12,} {top_seconds:>9.2f} {tops_done / top_seconds:>12,.0f}")
    print(
        f"{'fills':<8} {fills_done:>12,} {fill_seconds:>9.2f} {fills_done / fill_seconds:>12,.0f}"
    )
    target = "met" if tops_done / top_seconds >= 100_000 else "NOT met"
    print(f"target >= 100,000 tops/s on one core: {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tops", type=int, default=10_000_000)
    parser.add_argument("--fills", type=int, default=1_000_000)
    arguments = parser.parse_args()
    run(arguments.tops, arguments.fills)


if __name__ == "__main__":
    main()

"""Throughput of the simulator: market steps, REST order round trips, public WS fan-out.

Runs the real simulator in-process on loopback (manual clock, no real-time stepping) and prints a
table. Measured: (a) market-model steps per second for the three default symbols, with book
topics (depths 1/50/200/1000) and tickers computed each step; (b) signed REST create+cancel round
trips per second from one aiohttp client (rate limit raised so it does not bind); (c) public book
messages delivered per second to one subscriber of orderbook.50 while stepping.

    .venv/bin/python bench/bench_sim.py [steps] [round_trips]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time

import aiohttp

from mm_sim.testing import API_KEY, API_SECRET, running_simulator, simulator_settings


def signed_headers(payload: str) -> dict[str, str]:
    stamp = str(time.time_ns() // 1_000_000)
    origin = f"{stamp}{API_KEY}5000{payload}"
    signature = hmac.new(API_SECRET.encode(), origin.encode(), hashlib.sha256).hexdigest()
    return {
        "X-BAPI-API-KEY": API_KEY,
        "X-BAPI-TIMESTAMP": stamp,
        "X-BAPI-SIGN": signature,
        "X-BAPI-RECV-WINDOW": "5000",
        "Content-Type": "application/json",
    }


async def bench_steps(steps: int) -> float:
    async with running_simulator(simulator_settings()) as sim:
        started = time.perf_counter()
        sim.venue.exchange.step(steps)
        return steps / (time.perf_counter() - started)


async def bench_round_trips(count: int) -> tuple[float, float]:
    settings = simulator_settings(order_rate_limit_per_s=1_000_000)
    async with running_simulator(settings) as sim, aiohttp.ClientSession() as session:
        latencies: list[float] = []
        started = time.perf_counter()
        for index in range(count):
            body = json.dumps(
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Limit",
                    "qty": "0.001",
                    "price": "50000.0",
                    "orderLinkId": f"b{index}",
                }
            )
            begin = time.perf_counter()
            async with session.post(
                f"{sim.rest_url}/v5/order/create", data=body, headers=signed_headers(body)
            ) as r:
                order_id = (await r.json())["result"]["orderId"]
            cancel = json.dumps({"category": "linear", "symbol": "BTCUSDT", "orderId": order_id})
            async with session.post(
                f"{sim.rest_url}/v5/order/cancel", data=cancel, headers=signed_headers(cancel)
            ) as r:
                assert (await r.json())["retCode"] == 0
            latencies.append(time.perf_counter() - begin)
        elapsed = time.perf_counter() - started
        latencies.sort()
        return count / elapsed, latencies[len(latencies) // 2] * 1000


async def bench_fanout(steps: int) -> float:
    async with (
        running_simulator(simulator_settings()) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.ws_public_url("linear")) as socket,
    ):
        await socket.send_json({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
        await socket.receive_str()
        await socket.receive_str()
        started = time.perf_counter()
        sim.venue.exchange.step(steps)
        target = sim.venue.feed.books[("linear", "BTCUSDT", 50)].update_id
        received = 0
        while True:
            message = json.loads(await socket.receive_str())
            received += 1
            if message["data"]["u"] >= target:
                break
        return received / (time.perf_counter() - started)


async def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    round_trips = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    step_rate = await bench_steps(steps)
    trip_rate, median_ms = await bench_round_trips(round_trips)
    fanout_rate = await bench_fanout(steps)
    print(f"{'measure':<48} {'value':>12}")
    print(f"{'market steps/s (3 symbols, all book topics)':<48} {step_rate:>12.0f}")
    print(f"{'REST create+cancel round trips/s':<48} {trip_rate:>12.0f}")
    print(f"{'REST create+cancel median round trip (ms)':<48} {median_ms:>12.2f}")
    print(f"{'orderbook.50 messages/s to one subscriber':<48} {fanout_rate:>12.0f}")


if __name__ == "__main__":
    asyncio.run(main())

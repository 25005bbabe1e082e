"""The residual window of lease fencing: from the send gate's check to the frame's write.

A lease holder frozen (SIGSTOP) after `mm_bybit.send_gate.check_send_gate` passed and before the
frame reached the kernel sends one request late, however long the freeze; no client-side check
can close that (docs/sharding.md). This measures how long that stretch is on the trade
WebSocket against the in-process simulator: the time from the gate's call to the return of the
connection's `send` (the frame handed to the transport), per create and cancel, and prints a
table of percentiles. The share of a second spent inside the window at a given request rate is
rate x mean.

    .venv/bin/python bench/bench_send_gate.py [requests]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from pydantic import SecretStr

from mm_bybit.api import BybitRestApi
from mm_bybit.credentials import ApiCredentials
from mm_bybit.order_requests import CancelOrder, CreateOrder
from mm_bybit.rest import RestClient
from mm_bybit.send_gate import SEND_GATE
from mm_bybit.ws_trade import TradeStream
from mm_runtime.testing import eventually
from mm_sim.testing import API_KEY, API_SECRET, running_simulator, simulator_settings


async def measure(requests: int) -> list[float]:
    credentials = ApiCredentials(api_key=API_KEY, api_secret=SecretStr(API_SECRET))
    windows: list[float] = []
    checked = [0.0]

    def gate() -> bool:
        checked[0] = time.perf_counter()
        return True

    settings = simulator_settings(order_rate_limit_per_s=100_000)
    async with running_simulator(settings) as sim, RestClient(sim.rest_url, credentials) as rest:
        trade = TradeStream(sim.ws_trade_url, credentials, fallback=BybitRestApi(rest))
        trade.start()
        await eventually(lambda: trade.connection.connected, timeout=5)
        send: Callable[[str], Awaitable[None]] = trade.connection.send

        async def timed_send(text: str) -> None:
            await send(text)
            windows.append(time.perf_counter() - checked[0])

        trade.connection.send = timed_send  # type: ignore[method-assign]
        token = SEND_GATE.set(gate)
        try:
            for n in range(requests):
                link = f"gate-{n}"
                await trade.send_order(CreateOrder(
                    category="linear", symbol="BTCUSDT", side="Buy", order_type="Limit",
                    qty="0.001", price="50000.0", time_in_force="PostOnly", order_link_id=link,
                ))  # fmt: skip
                await trade.send_order(
                    CancelOrder(category="linear", symbol="BTCUSDT", order_link_id=link)
                )
        finally:
            SEND_GATE.reset(token)
            await trade.close()
    return windows


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    windows = sorted(value * 1e6 for value in asyncio.run(measure(requests)))
    quantiles = statistics.quantiles(windows, n=100)
    print(f"gate check -> frame written, trade WebSocket, {len(windows)} requests (us)")
    print(f"{'mean':>8} {'p50':>8} {'p99':>8} {'max':>8}")
    print(f"{statistics.fmean(windows):8.1f} {quantiles[49]:8.1f} {quantiles[98]:8.1f} "
          f"{windows[-1]:8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

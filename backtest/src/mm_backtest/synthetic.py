"""A synthetic recording: the simulator's seeded market written as the recorder lays it out.

For tests and the benchmark, where a recording of a given size and rate is needed without the
network: the simulator's own engine (`Exchange` with its market model) and public feed
(`PublicFeed`) run on a manual clock, and every `orderbook.<depth>` and `publicTrade` message
they publish is written, one per line as the recorder writes it (receive time first, here the
venue time), to `<dir>/bybit/<category>/<symbol>/<date>/<HH>.jsonl` (uncompressed).
The same seed gives the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from mm_sim.clock import ManualClock
from mm_sim.exchange import Exchange
from mm_sim.faults import Faults
from mm_sim.public_feed import PublicFeed
from mm_sim.settings import FaultConfig, InstrumentConfig, MarketModelConfig, SimSettings
from recorder.lines import venue_line

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def instrument(symbol: str, index: int = 0) -> InstrumentConfig:
    """A BTC-like linear instrument (tick 0.1, lot 0.001); `index` spreads the start prices."""
    return InstrumentConfig(
        symbol=symbol,
        base_coin=symbol.removesuffix("USDT"),
        tick_size=Decimal("0.1"),
        qty_step=Decimal("0.001"),
        min_order_qty=Decimal("0.001"),
        min_notional_value=Decimal("5"),
        start_price=Decimal(60_000 + 1_000 * index),
        model_lots_per_unit=1,
    )


def write_recording(
    out: Path,
    instruments: list[InstrumentConfig],
    seconds: float,
    frames_per_s: int,
    seed: int = 7,
    depth: int = 50,
    volatility_ticks: float = 1.5,
    trade_size_lots: int = 100,
) -> int:
    """Record `seconds` of the market at `frames_per_s` book steps a second; returns lines."""
    clock = ManualClock(START_MS)
    market = MarketModelConfig(
        auto_step=False,
        step_interval_ms=max(1, 1000 // frames_per_s),
        volatility_ticks=volatility_ticks,
        trade_size_lots=trade_size_lots,
    )
    settings = SimSettings(instruments=instruments, seed=seed, id_seed=seed, market=market)
    exchange = Exchange(settings, clock)
    feed = PublicFeed(exchange, Faults(FaultConfig()))
    files: dict[Path, IO[bytes]] = {}
    written = 0

    def sink_for(config: InstrumentConfig) -> object:
        def sink(message: bytes) -> None:
            nonlocal written
            when = datetime.fromtimestamp(clock.now_ms() / 1000, UTC)
            path = (
                out
                / "bybit"
                / config.category
                / config.symbol
                / when.strftime("%Y-%m-%d")
                / f"{when:%H}.jsonl"
            )
            handle = files.get(path)
            if handle is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = files[path] = path.open("wb")
            line = venue_line(clock.now_ms() * 1_000_000, message)
            if line is not None:
                handle.write(line)
            written += 1

        return sink

    try:
        for number, config in enumerate(instruments):
            sink = sink_for(config)
            for topic in (f"orderbook.{depth}.{config.symbol}", f"publicTrade.{config.symbol}"):
                feed.subscribe(config.category, topic, number, sink)  # type: ignore[arg-type]
        for _ in range(int(seconds * frames_per_s)):
            clock.advance(market.step_interval_ms)
            exchange.step()
    finally:
        for handle in files.values():
            handle.close()
    return written

"""The live view's per-symbol figures: prices from ticks, signed inventory, PnL and latency."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from mm_cli.market_watch import SymbolView, histogram_quantile, probe_readiness
from mm_proto import Position
from mm_proto.examples import example_instrument
from mm_runtime.health import HealthServer
from mm_runtime.settings import HttpSettings


def position(size_lots: int) -> Position:
    return Position(
        venue="bybit",
        category="linear",
        symbol="BTCUSDT",
        size_lots=size_lots,
        entry_price="60000",
        realized_pnl="1.5",
        unrealized_pnl="-0.25",
        ts_exchange_ns=1,
    )


def test_a_short_position_shows_as_a_negative_quantity() -> None:
    view = SymbolView(instrument=example_instrument(), position=position(-9))
    lot = example_instrument().lots_to_qty(9).rstrip("0").rstrip(".")
    assert view.inventory == f"-{lot}"
    assert str(view.pnl) == "1.25"


def test_mid_and_spread_come_from_ticks() -> None:
    view = SymbolView(instrument=example_instrument(), best_bid_ticks=100, best_ask_ticks=102)
    view.quoting, view.our_bid_ticks, view.our_ask_ticks = True, 99, 103
    assert view.mid != "-"
    assert view.spread_bps == f"{4 / 101 * 1e4:.1f}"


def test_a_histogram_quantile_is_the_upper_bound_of_its_bucket() -> None:
    name = "mm_executor_tick_to_order_seconds"
    samples = {
        f"{name}_bucket{{le=0.001}}": 50.0,
        f"{name}_bucket{{le=0.005}}": 99.0,
        f"{name}_bucket{{le=inf}}": 100.0,
    }
    assert histogram_quantile(samples, name, 0.5) == 0.001
    assert histogram_quantile(samples, name, 0.99) == 0.005
    assert histogram_quantile({}, name, 0.5) is None


async def test_readiness_is_read_from_a_real_readyz_with_its_reason() -> None:
    ready = {"value": (True, "ok")}
    server = HealthServer(HttpSettings(), CollectorRegistry(), lambda: ready["value"])
    await server.start()
    try:
        assert await probe_readiness(server.port) == "ready"
        ready["value"] = (False, "failed closed: jetstream cannot store facts")
        assert await probe_readiness(server.port) == (
            "not ready: failed closed: jetstream cannot store facts"
        )
    finally:
        await server.stop()
    assert await probe_readiness(server.port) == "down"

"""Where risk's instrument grids come from: settings, or the venue's definitions via md_gateway.

An explicit grid in settings wins. Every other symbol's grid comes from the instrument follower
(`mm_runtime.instruments`), waited for at start up to `instrument_wait_s`; past that risk refuses
to start, naming the symbols it has no grid for. Risk holds positions and entry prices in the
grid's units, so it keeps the grids it started with (a venue's tick or lot size change needs a
restart, which the executor and quoter see too).
"""

from __future__ import annotations

from mm_proto import Grid
from mm_runtime.instruments import wait_for_definitions
from mm_runtime.lifecycle import Runtime
from risk.settings import RiskSettings


async def load_grids(
    runtime: Runtime, settings: RiskSettings
) -> tuple[dict[str, Grid], dict[str, str]]:
    """Each guarded symbol's grid and quote coin, or RuntimeError naming those without one."""
    grids = {s: grid.grid(s) for s, grid in settings.instruments.items()}
    quote_coins = {s: grid.quote_coin for s, grid in settings.instruments.items()}
    missing = [s for s in settings.all_symbols if s not in grids]
    definitions = await wait_for_definitions(
        runtime, settings.venue, settings.category, missing, settings.instrument_wait_s
    )
    for symbol, definition in definitions.items():
        grids[symbol] = definition.grid()
        quote_coins[symbol] = definition.quote_coin
    return grids, quote_coins

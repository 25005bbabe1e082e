"""What `ctl.quoter.status` answers: each symbol's gates, inventory, params and coverage."""

from __future__ import annotations

from collections.abc import Mapping

from quoter.strategy import SymbolQuoter


def describe(quoters: Mapping[str, SymbolQuoter], now_ns: int) -> dict[str, str]:
    """Flat string map (the CtlReply `data` shape), keys `<symbol>.<what>`."""
    data: dict[str, str] = {}
    for symbol, quoter in quoters.items():
        resting = quoter.resting
        data[f"{symbol}.pull_reason"] = quoter.pull_reason(now_ns)
        data[f"{symbol}.inventory_lots"] = str(quoter.inventory_lots)
        data[f"{symbol}.book_update_id"] = str(quoter.touch.update_id if quoter.touch else 0)
        data[f"{symbol}.halted"] = str(quoter.halted).lower()
        data[f"{symbol}.volatility_ready"] = str(quoter.volatility.ready).lower()
        data[f"{symbol}.params"] = quoter.params.model_dump_json()
        data[f"{symbol}.obligation_coverage"] = f"{quoter.coverage.coverage():.4f}"
        data[f"{symbol}.obligation_snapshots"] = str(quoter.coverage.snapshots)
        data[f"{symbol}.resting_levels"] = (
            f"{len(resting.bids)}x{len(resting.asks)}" if resting is not None else "none"
        )
    return data

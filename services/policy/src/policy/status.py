"""The policy's answer to `ctl.policy.status`: modes, holds, pins, values, last decisions.

`data` keys are `<symbol>.<what>`: `mode`, `held` (why, or empty), `pinned` (fields set by hand),
`skipped` (proposals left alone for a pin), `value.<field>` (in force at the last round),
`weight` (the allocator's), `decisions` (how many), `last` (the newest decision in words) and
`pending` (a decision not yet finished). `mm policy status` prints them.
"""

from __future__ import annotations

from mm_proto.policy import in_words
from policy.decider import Decider
from policy.quoter_config import QuoterView

TENDED = (
    "min_spread_bps",
    "level_size_lots",
    "refresh_price_ticks",
    "max_inventory_lots",
    "enabled",
)


def describe(decider: Decider) -> dict[str, str]:
    data: dict[str, str] = {}
    journal, view = decider.journal, decider.view
    for symbol in decider.symbols:
        prefix = f"{symbol}."
        data[prefix + "mode"] = decider.config.values.for_symbol(symbol).mode
        data[prefix + "held"] = decider.held.get(symbol, "")
        data[prefix + "skipped"] = "; ".join(decider.skipped.get(symbol, []))
        data[prefix + "decisions"] = str(journal.counts.get(symbol, 0))
        if symbol in decider.weights:
            data[prefix + "weight"] = f"{decider.weights[symbol]:.4f}"
        recent = [d for d in journal.recent.get(symbol, ()) if d.stage != "held"]
        if recent:
            data[prefix + "last"] = in_words(recent[-1])
        pending = journal.pending.get(symbol)
        if pending is not None:
            data[prefix + "pending"] = pending.decision_id
        if view is not None:
            data.update(_values(view, symbol, journal.written))
    return data


def _values(view: QuoterView, symbol: str, written: dict[tuple[str, str], str]) -> dict[str, str]:
    values = view.values(symbol)
    data = {f"{symbol}.value.{name}": str(values.get(name)) for name in TENDED if name in values}
    data[f"{symbol}.pinned"] = ",".join(sorted(view.pinned(symbol, written)))
    return data

"""The quoter's sizes against risk's position limits: a config change is refused when one level
alone (`level_size`, the largest level with `level_size_multiplier`) or `max_inventory` exceeds
the symbol's `max_position_lots` in force at risk.

Risk owns its limits and writes the per-symbol sizes in force to KV `risk`, key
`subjects.RISK_LIMITS_KEY` (on start and within a second of every change); the quoter reads that
entry on its `config-set` path, so neither service imports the other. Without the entry (risk not
started yet) nothing is refused here: risk still cuts every ladder to its limits, and says so in
its `reduce` events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import KeyNotFoundError

from mm_proto import Grid, subjects
from mm_runtime.jetstream import key_value
from quoter.ladder import quantity_lots
from quoter.params import QuoterParams


async def read_position_ceilings(js: JetStreamContext) -> dict[str, int] | None:
    """`max_position_lots` per symbol as risk last stored it; None when risk has not."""
    bucket = await key_value(js, subjects.RISK_BUCKET)
    try:
        entry = await bucket.get(subjects.RISK_LIMITS_KEY)
    except KeyNotFoundError:
        return None
    return parse_position_ceilings(entry.value or b"")


def parse_position_ceilings(raw: bytes) -> dict[str, int]:
    """The entry's `max_position_lots` per symbol; raises ValueError on a malformed entry."""
    try:
        loaded: Any = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"risk's limits entry is not JSON ({error})") from None
    if not isinstance(loaded, dict):
        raise ValueError("risk's limits entry must be a JSON object")
    ceilings: dict[str, int] = {}
    for symbol, sizes in loaded.items():
        lots = sizes.get("max_position_lots") if isinstance(sizes, dict) else None
        if isinstance(lots, bool) or not isinstance(lots, int) or lots < 0:
            raise ValueError(f"risk's limits entry: {symbol} has no whole max_position_lots")
        ceilings[symbol] = lots
    return ceilings


def ceiling_refusals(
    proposals: Mapping[str, QuoterParams],
    instruments: Mapping[str, Grid | None],
    ceilings: Mapping[str, int],
) -> list[str]:
    """Why each proposed symbol's sizes exceed risk's position limit ([] when none does)."""
    reasons: list[str] = []
    for symbol, params in proposals.items():
        instrument, ceiling = instruments.get(symbol), ceilings.get(symbol)
        if instrument is None or ceiling is None:
            continue  # no grid or no limit known yet: risk's own checks still apply
        largest = params.level_size * params.level_size_multiplier ** (params.levels - 1)
        for name, quantity in (("level_size", largest), ("max_inventory", params.max_inventory)):
            lots = quantity_lots(quantity, instrument)
            if lots > ceiling:
                what = "one level" if name == "level_size" else name
                reasons.append(
                    f"{symbol}: {what} {quantity:g} ({lots} lots) exceeds risk's "
                    f"max_position_lots {ceiling}"
                )
    return reasons

"""The quoter's sizes against risk's position limits: a config change is refused when one level
alone (`level_size_lots`, the largest level with `level_size_multiplier`) or `max_inventory_lots`
exceeds the symbol's `max_position_lots` in force at risk. All three are lots of the instrument's
grid, so they compare as they stand.

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

from mm_proto import subjects
from mm_proto.quoting import whole_lots
from mm_runtime.jetstream import key_value
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
    proposals: Mapping[str, QuoterParams], ceilings: Mapping[str, int]
) -> list[str]:
    """Why each proposed symbol's sizes exceed risk's position limit ([] when none does)."""
    reasons: list[str] = []
    for symbol, params in proposals.items():
        ceiling = ceilings.get(symbol)
        if ceiling is None:
            continue  # no limit known yet: risk's own checks still apply
        largest = size_schedule_top(params)
        if largest > ceiling:
            reasons.append(
                f"{symbol}: one level {largest} lots exceeds risk's max_position_lots {ceiling}"
            )
        if params.max_inventory_lots > ceiling:
            reasons.append(
                f"{symbol}: max_inventory_lots {params.max_inventory_lots} exceeds risk's "
                f"max_position_lots {ceiling}"
            )
    return reasons


def size_schedule_top(params: QuoterParams) -> int:
    """The last level's lots, the largest unless the multiplier is below 1 (`size_schedule`)."""
    return whole_lots(params.level_size_lots * params.level_size_multiplier ** (params.levels - 1))

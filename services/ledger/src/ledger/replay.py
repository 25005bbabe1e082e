"""A reference run of the core over what streams MARKS and EXEC hold, without interruption.

What the service's stored figures must equal, whatever restarts it went through: every stored
input that the service's newest flush includes (by its resume state's cut), applied to a fresh
core in merge-key order, then flushed once. `totals` sums KPI rows per (symbol, side, color), so
the service's many windows and the reference's one compare directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nats.js import JetStreamContext, api

from ledger.core import Ledger
from ledger.inputs import Decoded, apply_input, decode_input
from ledger.merge import FACT, MARK
from ledger.resume import decode_state
from mm_proto import InstrumentDefinition, KpiSnapshot

_ADDED = (
    *("spread_pnl", "fee_pnl", "inventory_pnl", "funding_pnl", "net_pnl", "notional"),
    *("fills", "maker_fills", "volume_lots", "orders_created", "amends", "cancels"),
    *("observed_nanos", "two_sided_nanos", "depth_5bps_lot_nanos", "depth_10bps_lot_nanos"),
    *("quote_age_nanos_sum", "quote_age_count", "position_lot_nanos"),
)
_BY_HORIZON = ("markout_quote", "markout_notional", "markout_fills", "toxic_fills")


@dataclass(frozen=True)
class Stored:
    subject: str
    data: bytes
    sequence: int


async def read_stream(js: JetStreamContext, stream: str, subject: str) -> list[Stored]:
    """Every message of `stream` on `subject` now, in sequence order (an ephemeral consumer)."""
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    last = info.state.last_seq
    config = api.ConsumerConfig(
        ack_policy=api.AckPolicy.NONE, deliver_policy=api.DeliverPolicy.ALL, inactive_threshold=30
    )
    subscription = await js.pull_subscribe(subject, stream=stream, config=config)
    found: list[Stored] = []
    try:
        while not found or found[-1].sequence < last:
            batch = await subscription.fetch(1024, timeout=2)
            found += [Stored(m.subject, m.data, m.metadata.sequence.stream) for m in batch]
            if batch and batch[-1].metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return [item for item in found if item.sequence <= last]


def reference(
    instruments: Iterable[InstrumentDefinition],
    horizons_s: tuple[float, ...],
    marks: list[Stored],
    facts: list[Stored],
    upto: list[KpiSnapshot],
) -> list[KpiSnapshot]:
    """The figures of an uninterrupted core over the inputs the flush `upto` includes."""
    ledger = Ledger(horizons_s)
    instruments = list(instruments)
    for instrument in instruments:
        ledger.add_instrument(instrument)
    venue, category = instruments[0].venue, instruments[0].category
    symbols = {instrument.symbol for instrument in instruments}
    states = {row.symbol: decode_state(row.resume_state) for row in upto if row.side == "all"}
    inputs: list[Decoded] = []
    for kind, stored in ((MARK, marks), (FACT, facts)):
        for item in stored:
            decoded = decode_input(item.subject, item.data, item.sequence, venue, category, symbols)
            state = states.get(decoded.symbol)
            if decoded.message is None or state is None:
                continue
            cut = state.marks_cut if kind == MARK else state.exec_cut
            if item.sequence < cut.restart or (
                item.sequence <= cut.delivered and decoded.key <= state.last_key
            ):
                inputs.append(decoded)
    for decoded in sorted(inputs, key=lambda d: d.key):
        assert decoded.message is not None
        apply_input(ledger, decoded.message)
    return ledger.flush(0, 1)


def totals(snapshots: Iterable[KpiSnapshot]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Additive figures summed per (symbol, side, color); markouts per horizon."""
    summed: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in snapshots:
        into = summed.setdefault((row.symbol, row.side, row.color), {})
        for name in _ADDED:
            into[name] = into.get(name, 0) + _number(getattr(row, name))
        for name in _BY_HORIZON:
            horizons = into.setdefault(name, {})
            for horizon, value in getattr(row, name).items():
                horizons[horizon] = horizons.get(horizon, 0) + _number(value)
    return {key: value for key, value in summed.items() if any(_nonzero(v) for v in value.values())}


def _number(value: str | int) -> Decimal | int:
    return Decimal(value) if isinstance(value, str) else value


def _nonzero(value: object) -> bool:
    if isinstance(value, dict):
        return any(value.values())
    return bool(value)

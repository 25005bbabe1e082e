"""The KPI gate's facts that no ledger row carries.

Each is measured by the one service that sees it and published once a minute (or once per
reconciliation), never per order: the executor's tick-to-order latency summary and its
reconciliation outcomes (stream EXEC, `exec.latency.*`, `exec.reconciliation.*`), the quoter's
obligation snapshots (stream QUOTER, `quote.obligation.*`). `mm gate` judges a window by them.
"""

from typing import Annotated

import msgspec

from mm_proto.message import Message, TimestampNs

NonNegative = Annotated[int, msgspec.Meta(ge=0)]
ReconciliationOutcome = Annotated[str, msgspec.Meta(pattern="^(clean|mismatch)$")]


class TickToOrderSummary(Message, frozen=True, kw_only=True, tag="tick_to_order_summary"):
    """The executor's tick-to-order latencies of one symbol over one window (usually a minute).

    One sample per plan sent for a target with a tick time: wall clock when its first request
    is handed to the venue client, minus `OrderTarget.ts_tick_ns`. Quantiles are nearest rank
    over the window's samples (`sampled` of them, fewer than `count` only past the executor's
    per-window cap); `max_nanos` is over all `count`; durations in nanoseconds.
    """

    venue: str
    category: str
    symbol: str
    ts_start_ns: TimestampNs
    ts_end_ns: TimestampNs
    count: NonNegative
    sampled: NonNegative
    p50_nanos: NonNegative
    p99_nanos: NonNegative
    max_nanos: NonNegative


class ObligationSummary(Message, frozen=True, kw_only=True, tag="obligation_summary"):
    """The quoter's obligation snapshots of one symbol over one window (usually a minute).

    `snapshots` taken (every `obligation_snapshot_s` of wall time while obligations are on), of
    which `met` had the required notional within each band on both sides of mid. Counts, so
    windows add up exactly: coverage = sum(met) / sum(snapshots).
    """

    venue: str
    category: str
    symbol: str
    ts_start_ns: TimestampNs
    ts_end_ns: TimestampNs
    snapshots: NonNegative
    met: NonNegative


class ReconciliationResult(Message, frozen=True, kw_only=True, tag="reconciliation_result"):
    """One reconciliation of one symbol's open orders with the venue, by the executor.

    `clean` when the venue listed exactly the orders the executor knew, as it knew them;
    `mismatch` otherwise, with what differed: orders the venue had that we did not know
    (`adopted`; not counted on the first reconciliation of a process, which knows nothing yet),
    orders we knew in another state (`corrected`), orders we thought live that were gone
    (`removed`), orders not ours (`foreign`). `detail` names them.
    """

    venue: str
    category: str
    symbol: str
    outcome: ReconciliationOutcome
    reason: str  # what triggered it, e.g. "private stream subscribed"
    ts_event_ns: TimestampNs
    adopted: NonNegative = 0
    corrected: NonNegative = 0
    removed: NonNegative = 0
    foreign: NonNegative = 0
    detail: str = ""
